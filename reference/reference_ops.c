/* reference kernels: see reference.c */
