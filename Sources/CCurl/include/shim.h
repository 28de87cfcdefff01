/* libcurl for Swift, loaded on demand.
 *
 * respond does not link libcurl: `respond_curl_load` dlopens libcurl.so.4 the first time it is
 * needed. libcurl pulls in about 30 shared libraries (TLS, Kerberos, LDAP, SSH, ...) whose
 * loading and relocation cost about 8 ms. Linked, they delayed every start before `main`;
 * loaded this way, a runbook run loads them on one core while the other reads the runbook, and
 * commands that never touch the network (validate, plan, --help) never load them.
 *
 * Swift cannot call C variadic functions (curl_easy_setopt, curl_easy_getinfo), so each
 * argument kind has its own fixed-arity wrapper. Every other wrapper has libcurl's signature
 * with a `respond_` prefix and loads the library first if needed. When it cannot be loaded,
 * wrappers return NULL or CURLE_FAILED_INIT / CURLM_INTERNAL_ERROR / CURLUE_OUT_OF_MEMORY:
 * callers check `respond_curl_load` first and report its message. */
#ifndef RESPOND_CCURL_SHIM_H
#define RESPOND_CCURL_SHIM_H

#include <curl/curl.h>

/* Loads libcurl once per process (thread-safe; a caller during a load waits for it). NULL when
 * libcurl is ready (curl_global_init done, SIGPIPE ignored); otherwise why it cannot be used. */
const char *respond_curl_load(void);

CURL *respond_curl_easy_init(void);
void respond_curl_easy_reset(CURL *h);
void respond_curl_easy_cleanup(CURL *h);
const char *respond_curl_easy_strerror(CURLcode code);
void respond_curl_free(void *p);

CURLM *respond_curl_multi_init(void);
CURLMcode respond_curl_multi_add_handle(CURLM *m, CURL *h);
CURLMcode respond_curl_multi_remove_handle(CURLM *m, CURL *h);
CURLMcode respond_curl_multi_perform(CURLM *m, int *running);
CURLMsg *respond_curl_multi_info_read(CURLM *m, int *left);
CURLMcode respond_curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *numfds);
CURLMcode respond_curl_multi_wakeup(CURLM *m);

struct curl_slist *respond_curl_slist_append(struct curl_slist *list, const char *item);
void respond_curl_slist_free_all(struct curl_slist *list);

CURLU *respond_curl_url(void);
void respond_curl_url_cleanup(CURLU *u);
CURLUcode respond_curl_url_set(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
CURLUcode respond_curl_url_get(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
const char *respond_curl_url_strerror(CURLUcode code);

CURLcode respond_setopt_long(CURL *h, CURLoption o, long v);
CURLcode respond_setopt_off(CURL *h, CURLoption o, curl_off_t v);
CURLcode respond_setopt_ptr(CURL *h, CURLoption o, void *v);
CURLcode respond_setopt_string(CURL *h, CURLoption o, const char *v);
CURLcode respond_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
/* CURLOPT_CURLU takes a parsed URL handle, so the transfer uses exactly the URL the policy checked. */
CURLcode respond_setopt_curlu(CURL *h, CURLU *u);

/* Plain http (and unencrypted SMTP) is allowed only to loopback, and the host name alone cannot
 * prove it: `localhost.` or a tampered resolver can name another machine. This installs an
 * open-socket callback that lets libcurl open a socket only for an address in 127.0.0.0/8 or ::1
 * (checked on the very address it is about to connect to); any other address is refused before
 * a connection exists, so nothing is sent. A refusal sets `refused` and writes the address. */
struct respond_loopback_guard {
  int refused;
  char address[64];
};
CURLcode respond_setopt_loopback_only(CURL *h, struct respond_loopback_guard *guard);

typedef size_t (*respond_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
CURLcode respond_setopt_write_function(CURL *h, respond_data_cb f);
CURLcode respond_setopt_header_function(CURL *h, respond_data_cb f);
CURLcode respond_setopt_read_function(CURL *h, respond_data_cb f);

CURLcode respond_getinfo_long(CURL *h, CURLINFO i, long *v);
CURLcode respond_getinfo_double(CURL *h, CURLINFO i, double *v);
CURLcode respond_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v);
CURLcode respond_getinfo_string(CURL *h, CURLINFO i, char **v);

/* Macros Swift does not import (expressions over other macros) and union members of CURLMsg. */
static inline int respond_error_size(void) { return CURL_ERROR_SIZE; }
static inline size_t respond_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline int respond_msg_is_done(CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode respond_msg_result(CURLMsg *m) { return m->data.result; }
static inline CURL *respond_msg_easy(CURLMsg *m) { return m->easy_handle; }

#endif
