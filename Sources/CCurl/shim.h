/* Typed, fixed-arity wrappers around libcurl's variadic functions.
 * Swift cannot call C variadic functions (curl_easy_setopt, curl_easy_getinfo), so each
 * argument kind gets its own static inline forwarder. */
#ifndef RESPOND_CCURL_SHIM_H
#define RESPOND_CCURL_SHIM_H

#include <curl/curl.h>

static inline CURLcode respond_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode respond_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode respond_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode respond_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode respond_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
/* CURLOPT_CURLU takes a parsed URL handle, so the transfer uses exactly the URL the policy checked. */
static inline CURLcode respond_setopt_curlu(CURL *h, CURLU *u) { return curl_easy_setopt(h, CURLOPT_CURLU, u); }

typedef size_t (*respond_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode respond_setopt_write_function(CURL *h, respond_data_cb f) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode respond_setopt_header_function(CURL *h, respond_data_cb f) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
static inline CURLcode respond_setopt_read_function(CURL *h, respond_data_cb f) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, f); }

static inline CURLcode respond_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode respond_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode respond_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode respond_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

/* Macros Swift does not import (expressions over other macros) and union members of CURLMsg. */
static inline CURLcode respond_global_init_all(void) { return curl_global_init(CURL_GLOBAL_ALL); }
static inline int respond_error_size(void) { return CURL_ERROR_SIZE; }
static inline size_t respond_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline int respond_msg_is_done(CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode respond_msg_result(CURLMsg *m) { return m->data.result; }
static inline CURL *respond_msg_easy(CURLMsg *m) { return m->easy_handle; }

#endif
