/* Range (ONNX): y[i] = start + i * delta, one work-item per element.
 * fma rounds once, as the reference's fmaf does, so device and reference
 * agree exactly (an integer range is exact either way: the importer keeps
 * its values below 2^24). The host pads the grid up to a multiple of 64,
 * hence the check. */
__kernel void range(__global store_t *y, uint y_off, int n, float start, float delta)
{
    int i = get_global_id(0);
    if (i >= n) return;
    STORE(y, y_off + i, fma((float)i, delta, start));
}
