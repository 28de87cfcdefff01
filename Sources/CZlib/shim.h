/* zlib for Swift: the header, plus a function for inflateInit2, which is a macro Swift cannot call. */
#ifndef RESPOND_CZLIB_SHIM_H
#define RESPOND_CZLIB_SHIM_H

#include <zlib.h>

/* Inflate gzip or zlib data (windowBits 15 + 32: detect the header). */
static inline int respond_inflate_init_auto(z_stream *s) { return inflateInit2(s, 15 + 32); }

/* Deflate into gzip format (windowBits 15 + 16: a gzip header and trailer), for incident bundles. */
static inline int respond_deflate_init_gzip(z_stream *s, int level) {
  return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
