/* Loads libcurl with dlopen and forwards to it. See include/shim.h for why. */
#include "shim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>

#if defined(__APPLE__)
#define RESPOND_LIBCURL "libcurl.4.dylib"
#else
#define RESPOND_LIBCURL "libcurl.so.4"
#endif

/* libcurl's entry points, filled once by load() and never changed afterwards. */
static struct {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  void (*easy_reset)(CURL *);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  void (*free)(void *);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
  CURLMcode (*multi_wakeup)(CURLM *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *);
  CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
  CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
  const char *(*url_strerror)(CURLUcode);
} fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* Set (release) once every entry point is bound and curl_global_init succeeded. */
static atomic_int ready;
static char failure[512];

static int bind_symbol(void *library, void **slot, const char *name) {
  *slot = dlsym(library, name);
  if (*slot == NULL) {
    snprintf(failure, sizeof failure, "%s has no %s (libcurl 7.84 or later is needed)", RESPOND_LIBCURL, name);
    return 0;
  }
  return 1;
}

static void load(void) {
  /* RTLD_LOCAL: libcurl's symbols stay out of the global scope; we reach them through dlsym.
   * RTLD_LAZY, as for a linked library: the ~30 libraries' functions are bound when first called
   * instead of all up front (about 1.5 ms). The entry points we use are checked below. */
  void *library = dlopen(RESPOND_LIBCURL, RTLD_LAZY | RTLD_LOCAL);
  if (library == NULL) {
    const char *why = dlerror();
    snprintf(failure, sizeof failure, "cannot load %s: %s (install libcurl: apt-get install libcurl4)",
             RESPOND_LIBCURL, why ? why : "unknown error");
    return;
  }
#define BIND(field, name) \
  if (!bind_symbol(library, (void **)&fn.field, name)) return;
  BIND(global_init, "curl_global_init")
  BIND(easy_init, "curl_easy_init")
  BIND(easy_reset, "curl_easy_reset")
  BIND(easy_cleanup, "curl_easy_cleanup")
  BIND(easy_strerror, "curl_easy_strerror")
  BIND(easy_setopt, "curl_easy_setopt")
  BIND(easy_getinfo, "curl_easy_getinfo")
  BIND(free, "curl_free")
  BIND(multi_init, "curl_multi_init")
  BIND(multi_add_handle, "curl_multi_add_handle")
  BIND(multi_remove_handle, "curl_multi_remove_handle")
  BIND(multi_perform, "curl_multi_perform")
  BIND(multi_info_read, "curl_multi_info_read")
  BIND(multi_poll, "curl_multi_poll")
  BIND(multi_wakeup, "curl_multi_wakeup")
  BIND(slist_append, "curl_slist_append")
  BIND(slist_free_all, "curl_slist_free_all")
  BIND(url, "curl_url")
  BIND(url_cleanup, "curl_url_cleanup")
  BIND(url_set, "curl_url_set")
  BIND(url_get, "curl_url_get")
  BIND(url_strerror, "curl_url_strerror")
#undef BIND
  CURLcode rc = fn.global_init(CURL_GLOBAL_ALL);
  if (rc != CURLE_OK) {
    snprintf(failure, sizeof failure, "curl_global_init failed: %s", fn.easy_strerror(rc));
    return;
  }
  /* CURLOPT_NOSIGNAL is set on every handle, so a broken connection's SIGPIPE must not kill us. */
  signal(SIGPIPE, SIG_IGN);
  atomic_store_explicit(&ready, 1, memory_order_release);
}

const char *respond_curl_load(void) {
  pthread_once(&load_once, load);
  return atomic_load_explicit(&ready, memory_order_acquire) ? NULL : failure;
}

/* True when libcurl is usable; loads it (waiting) when nobody has yet. */
static int loaded(void) { return respond_curl_load() == NULL; }

CURL *respond_curl_easy_init(void) { return loaded() ? fn.easy_init() : NULL; }
void respond_curl_easy_reset(CURL *h) { if (loaded()) fn.easy_reset(h); }
void respond_curl_easy_cleanup(CURL *h) { if (loaded()) fn.easy_cleanup(h); }
const char *respond_curl_easy_strerror(CURLcode code) { return loaded() ? fn.easy_strerror(code) : failure; }
void respond_curl_free(void *p) { if (loaded()) fn.free(p); }

CURLM *respond_curl_multi_init(void) { return loaded() ? fn.multi_init() : NULL; }
CURLMcode respond_curl_multi_add_handle(CURLM *m, CURL *h) { return loaded() ? fn.multi_add_handle(m, h) : CURLM_INTERNAL_ERROR; }
CURLMcode respond_curl_multi_remove_handle(CURLM *m, CURL *h) { return loaded() ? fn.multi_remove_handle(m, h) : CURLM_INTERNAL_ERROR; }
CURLMcode respond_curl_multi_perform(CURLM *m, int *running) { return loaded() ? fn.multi_perform(m, running) : CURLM_INTERNAL_ERROR; }
CURLMsg *respond_curl_multi_info_read(CURLM *m, int *left) { return loaded() ? fn.multi_info_read(m, left) : NULL; }
CURLMcode respond_curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *numfds) {
  return loaded() ? fn.multi_poll(m, extra, count, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}
CURLMcode respond_curl_multi_wakeup(CURLM *m) { return loaded() ? fn.multi_wakeup(m) : CURLM_INTERNAL_ERROR; }

struct curl_slist *respond_curl_slist_append(struct curl_slist *list, const char *item) {
  return loaded() ? fn.slist_append(list, item) : NULL;
}
void respond_curl_slist_free_all(struct curl_slist *list) { if (loaded()) fn.slist_free_all(list); }

CURLU *respond_curl_url(void) { return loaded() ? fn.url() : NULL; }
void respond_curl_url_cleanup(CURLU *u) { if (loaded()) fn.url_cleanup(u); }
CURLUcode respond_curl_url_set(CURLU *u, CURLUPart part, const char *content, unsigned int flags) {
  return loaded() ? fn.url_set(u, part, content, flags) : CURLUE_OUT_OF_MEMORY;
}
CURLUcode respond_curl_url_get(const CURLU *u, CURLUPart part, char **content, unsigned int flags) {
  return loaded() ? fn.url_get(u, part, content, flags) : CURLUE_OUT_OF_MEMORY;
}
const char *respond_curl_url_strerror(CURLUcode code) { return loaded() ? fn.url_strerror(code) : failure; }

#define SETOPT(h, o, v) (loaded() ? fn.easy_setopt(h, o, v) : CURLE_FAILED_INIT)
CURLcode respond_setopt_long(CURL *h, CURLoption o, long v) { return SETOPT(h, o, v); }
CURLcode respond_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return SETOPT(h, o, v); }
CURLcode respond_setopt_ptr(CURL *h, CURLoption o, void *v) { return SETOPT(h, o, v); }
CURLcode respond_setopt_string(CURL *h, CURLoption o, const char *v) { return SETOPT(h, o, v); }
CURLcode respond_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return SETOPT(h, o, v); }
CURLcode respond_setopt_curlu(CURL *h, CURLU *u) { return SETOPT(h, CURLOPT_CURLU, u); }
CURLcode respond_setopt_write_function(CURL *h, respond_data_cb f) { return SETOPT(h, CURLOPT_WRITEFUNCTION, f); }
CURLcode respond_setopt_header_function(CURL *h, respond_data_cb f) { return SETOPT(h, CURLOPT_HEADERFUNCTION, f); }
CURLcode respond_setopt_read_function(CURL *h, respond_data_cb f) { return SETOPT(h, CURLOPT_READFUNCTION, f); }

/* Opens a socket only for a loopback address (see respond_setopt_loopback_only). */
static curl_socket_t loopback_only_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)purpose;
  struct respond_loopback_guard *guard = clientp;
  int loopback = 0;
  if (a->family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&a->addr;
    loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    if (!loopback) inet_ntop(AF_INET, &in->sin_addr, guard->address, sizeof guard->address);
  } else if (a->family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&a->addr;
    loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    if (!loopback) inet_ntop(AF_INET6, &in6->sin6_addr, guard->address, sizeof guard->address);
  } else {
    snprintf(guard->address, sizeof guard->address, "an address of family %d", a->family);
  }
  if (!loopback) {
    guard->refused = 1;
    return CURL_SOCKET_BAD;
  }
#ifdef SOCK_CLOEXEC
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
  return socket(a->family, a->socktype, a->protocol);
#endif
}

CURLcode respond_setopt_loopback_only(CURL *h, struct respond_loopback_guard *guard) {
  CURLcode rc = SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, loopback_only_open);
  return rc == CURLE_OK ? SETOPT(h, CURLOPT_OPENSOCKETDATA, guard) : rc;
}
#undef SETOPT

#define GETINFO(h, i, v) (loaded() ? fn.easy_getinfo(h, i, v) : CURLE_FAILED_INIT)
CURLcode respond_getinfo_long(CURL *h, CURLINFO i, long *v) { return GETINFO(h, i, v); }
CURLcode respond_getinfo_double(CURL *h, CURLINFO i, double *v) { return GETINFO(h, i, v); }
CURLcode respond_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return GETINFO(h, i, v); }
CURLcode respond_getinfo_string(CURL *h, CURLINFO i, char **v) { return GETINFO(h, i, v); }
#undef GETINFO
