// CLBlast's current kernel parameters for a device. CLBlast 1.5 offers
// RetrieveParameters only in its C++ API; clgraph needs it so that a tune
// can put back exactly the parameters it replaced, and compare a tuned
// kernel against the one in effect. This file is the whole C++ in clgraph:
// one function with C linkage, no exceptions escaping.
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <clblast.h>

#include <cstddef>
#include <new>
#include <string>
#include <unordered_map>

extern "C" __attribute__((visibility("hidden"))) int
clg_clblast_retrieve(cl_device_id device, const char *kernel, size_t n, const char *const *names,
                     size_t *values);

// Fills values[i] with parameter names[i] of kernel (single precision).
// Returns CLBlast's status; CLBlastMissingOverrideParameter (-2047) when
// CLBlast has no such parameter, CL_OUT_OF_HOST_MEMORY when allocation fails.
int clg_clblast_retrieve(cl_device_id device, const char *kernel, size_t n, const char *const *names,
                         size_t *values)
{
    try {
        std::unordered_map<std::string, size_t> params;
        clblast::StatusCode s =
            clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, params);
        if (s != clblast::StatusCode::kSuccess) return static_cast<int>(s);
        if (params.size() != n) return static_cast<int>(clblast::StatusCode::kMissingOverrideParameter);
        for (size_t i = 0; i < n; i++) {
            auto it = params.find(names[i]);
            if (it == params.end())
                return static_cast<int>(clblast::StatusCode::kMissingOverrideParameter);
            values[i] = it->second;
        }
        return 0;
    } catch (const std::bad_alloc &) {
        return CL_OUT_OF_HOST_MEMORY;
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}
