/* AOT bundles (docs/bundle.md): one file holding a model's optimised
 * graph, its weights, the decisions its plans made and its programs'
 * binaries with their sources. bundle_format.c reads and writes the
 * container and its sections without any device (the fuzz harness's
 * target); bundle_model.c saves a model into one and creates a model from
 * one. */
#ifndef CLG_BUNDLE_H
#define CLG_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#define CLG_BUNDLE_MAGIC "CLGBNDL" /* 8 bytes with its NUL */
/* 3: INFO names the model's precision (a `precision fp16` line; fp32
 * without one); 2: sections summed with clg_sum64; 1: with clg_fnv1a. 1
 * and 2 are still read (as fp32 bundles: they had no other precision). A
 * clgraph that reads only up to 2 refuses a version-3 bundle by its
 * number, rather than load a half model as fp32. */
#define CLG_BUNDLE_VERSION 3
#define CLG_BUNDLE_HEADER 32
#define CLG_BUNDLE_ENTRY 32
#define CLG_BUNDLE_MAX_SECTIONS 16

/* The sections, by their four-letter tags. */
enum { CLG_SEC_INFO, CLG_SEC_GRAPH, CLG_SEC_WEIGHTS, CLG_SEC_CHOICES, CLG_SEC_PROGRAMS, CLG_SEC_COUNT };
CLG_INTERNAL extern const char clg_bundle_tags[CLG_SEC_COUNT][5];

/* One section's bytes (borrowed from the bundle's buffer). */
typedef struct clg_bundle_bytes {
    const unsigned char *data;
    size_t size;
    uint64_t offset; /* in the file, for messages */
} clg_bundle_bytes;

/* One program: what clBuildProgram was given and what it made. Strings
 * are NUL-terminated copies owned by the clg_bundle; binary points into the
 * bundle's buffer (binary_len 0: none). */
typedef struct clg_bundle_program {
    char *file, *options, *source;
    const unsigned char *binary;
    size_t binary_len;
} clg_bundle_program;

/* A bundle read and checked: every required section found once, every
 * checksum right, INFO and PROGRAMS parsed. */
typedef struct clg_bundle {
    clg_allocator allocator;
    clg_bundle_bytes sec[CLG_SEC_COUNT];
    char version[256];       /* the clgraph that wrote it, "0.1.0" */
    char identity[3 * 256];  /* "platform\ndevice\ndriver" it was built on */
    clg_precision precision; /* the model's (INFO's precision line; fp32 before version 3) */
    char *choices;           /* CHOICES as a NUL-terminated copy */
    clg_bundle_program *programs;
    int n_programs;
} clg_bundle;

/* Checks and parses a bundle of len bytes (borrowed: b's sections and
 * binaries point into data). CLG_ERR_FORMAT with the section and file
 * offset in err for anything malformed, CLG_ERR_OUT_OF_MEMORY. b is
 * released on failure; on success free it with clg_bundle_free. */
CLG_INTERNAL clg_status clg_bundle_parse(const clg_allocator *a, const void *data, size_t len, clg_bundle *b,
                                         char *err, size_t err_size);
CLG_INTERNAL void clg_bundle_free(clg_bundle *b);
/* Recomputes every checksum of a bundle in place (as far as its table
 * lies within len), so that the tests' and the fuzzer's damage gets past
 * the checksums to the checks behind them. */
CLG_INTERNAL void clg_bundle_reseal(unsigned char *d, size_t len);

/* The graph in a parsed bundle, into g (empty): CLG_ERR_FORMAT naming the
 * section when its text or weights do not make a graph. */
CLG_INTERNAL clg_status clg_bundle_graph(const clg_bundle *b, clg_graph *g, char *err, size_t err_size);

/* Sections to write, in tag order (data may be NULL when size is 0). */
typedef struct clg_bundle_out {
    const void *data[CLG_SEC_COUNT];
    size_t size[CLG_SEC_COUNT];
} clg_bundle_out;

/* The whole file for these sections, allocated with a, in *out and *len. */
CLG_INTERNAL clg_status clg_bundle_serialize(const clg_allocator *a, const clg_bundle_out *sections,
                                             unsigned char **out, size_t *len);

/* A growable byte buffer for building sections. */
typedef struct clg_bytes {
    const clg_allocator *a;
    unsigned char *data;
    size_t len, cap;
    bool oom;
} clg_bytes;
CLG_INTERNAL void clg_bytes_put(clg_bytes *b, const void *data, size_t n);
CLG_INTERNAL void clg_bytes_u32(clg_bytes *b, uint32_t v);
CLG_INTERNAL void clg_bytes_u64(clg_bytes *b, uint64_t v);
CLG_INTERNAL void clg_bytes_str(clg_bytes *b, const char *s);

/* Sections PROGRAMS and INFO as clg_bundle_parse reads them. */
CLG_INTERNAL void clg_bundle_put_program(clg_bytes *out, const char *file, const char *options,
                                         const char *source, const unsigned char *binary, size_t binary_len);
CLG_INTERNAL void clg_bundle_put_info(clg_bytes *out, const char *version, const char *identity,
                                      clg_precision precision);

#endif
