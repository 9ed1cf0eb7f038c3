# Regenerates the .npy fixtures of tests/test_npy.c and tests/test_cli.sh.
# Not run by the tests (the fixtures are committed); needs numpy:
#   cd tests/data/npy && python3 make_fixtures.py
import numpy as np
from numpy.lib import format as fmt

a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1
np.save('f32_2x3.npy', a)
np.save('f32_5.npy', np.array([1.5, -2, 3.25, 0, 1e-3], np.float32))
np.save('f32_rank5.npy', np.arange(2 * 1 * 3 * 1 * 2, dtype=np.float32).reshape(2, 1, 3, 1, 2))
for v in [(2, 0), (3, 0)]:
    with open(f'f32_v{v[0]}.npy', 'wb') as f:
        fmt.write_array(f, a, version=v)
np.save('f64.npy', a.astype(np.float64))
np.save('i32.npy', np.arange(6, dtype=np.int32).reshape(2, 3))
np.save('f16.npy', np.array([[0.0, -2.5, 65504.0], [6e-08, np.inf, 0.0999755859375]], dtype=np.float16))
np.save('fortran.npy', np.asfortranarray(a))
np.save('f32_be.npy', a.astype('>f4'))
np.save('scalar.npy', np.float32(3.0))
np.save('empty.npy', np.zeros((0, 3), np.float32))
np.save('rank9.npy', np.zeros((1, 1, 1, 1, 1, 1, 1, 1, 2), np.float32))
b = open('f32_2x3.npy', 'rb').read()
open('truncated.npy', 'wb').write(b[:-4])
open('trailing.npy', 'wb').write(b + b'\0\0\0\0')
open('bad_magic.npy', 'wb').write(b'\x89PNG\r\n\x1a\n' + b'\0' * 120)
# Inputs of examples/residual_mlp.clg (x: f32[N, 128]) for the CLI test.
rng = np.random.default_rng(7)
np.save('mlp_x_b3.npy', rng.uniform(-1, 1, (3, 128)).astype(np.float32))
np.save('mlp_x_bad.npy', np.zeros((3, 64), np.float32))
