/* Placeholder CLI: being written. */
#include <stdio.h>
int main(void) { fprintf(stderr, "clgraph: not written yet\n"); return 1; }
