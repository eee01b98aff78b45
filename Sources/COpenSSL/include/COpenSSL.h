// The OpenSSL 3 C API as Swift sees it. Macros that Swift cannot import are
// re-exported as functions prefixed `roomd_`.
#ifndef ROOMD_COPENSSL_H
#define ROOMD_COPENSSL_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/// OPENSSL_free is a macro.
void roomd_openssl_free(void *ptr);

/// The most recent error on this thread's OpenSSL error queue as text, or an
/// empty string; the queue is cleared. Writes at most `len` bytes including NUL.
void roomd_openssl_last_error(char *buf, size_t len);

/// sk_GENERAL_NAME_num / _value are macros over the typed stack.
int roomd_general_names_count(const GENERAL_NAMES *names);
const GENERAL_NAME *roomd_general_names_value(const GENERAL_NAMES *names, int i);
void roomd_general_names_free(GENERAL_NAMES *names);

/// The URI of a GENERAL_NAME of type GEN_URI as a NUL-free byte range, or NULL.
const unsigned char *roomd_general_name_uri(const GENERAL_NAME *name, int *len);

/// Adds an X.509v3 extension given in OpenSSL's config syntax (e.g.
/// "critical,CA:TRUE"), with issuer and subject set for key identifiers.
int roomd_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/// MBSTRING_UTF8 for X509_NAME_add_entry_by_txt.
extern const int roomd_MBSTRING_UTF8;

/// The name in RFC 2253 form ("CN=S01,O=roomd demo") as a string allocated
/// with OPENSSL_malloc (free with roomd_openssl_free), or NULL.
char *roomd_x509_name_rfc2253(const X509_NAME *name);

/// Seconds since the Unix epoch of an ASN1_TIME, in *out; 1 on success.
int roomd_asn1_time_to_unix(const ASN1_TIME *time, int64_t *out);

/// DNS names and IP addresses in SAN, as in roomd_general_name_uri.
const unsigned char *roomd_general_name_dns(const GENERAL_NAME *name, int *len);

/// Whether basicConstraints says CA:TRUE.
int roomd_x509_is_ca(X509 *cert);

#endif
