// The OpenSSL 3 C API as Swift sees it. Macros that Swift cannot import are
// re-exported as functions prefixed `roomd_`.
#ifndef ROOMD_COPENSSL_H
#define ROOMD_COPENSSL_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>  /* before cms.h, which declares PEM_read_bio_CMS only when pem.h came first */
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/ts.h>
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

/// Seconds since the Unix epoch of an ASN1_TIME, in *out; 1 on success.
int roomd_asn1_time_to_unix(const ASN1_TIME *time, int64_t *out);

/// DNS names and IP addresses in SAN, as in roomd_general_name_uri.
const unsigned char *roomd_general_name_dns(const GENERAL_NAME *name, int *len);

/// Whether basicConstraints says CA:TRUE.
int roomd_x509_is_ca(X509 *cert);

/// STACK_OF(X509) is a macro-typed stack. The stack never owns the
/// certificates pushed onto it (free with roomd_x509_stack_free); the _pop_free
/// variant is for stacks OpenSSL hands out with references (X509_STORE_CTX_get1_chain).
STACK_OF(X509) *roomd_x509_stack_new(void);
int roomd_x509_stack_push(STACK_OF(X509) *stack, X509 *cert);
int roomd_x509_stack_count(const STACK_OF(X509) *stack);
X509 *roomd_x509_stack_value(const STACK_OF(X509) *stack, int i);
void roomd_x509_stack_free(STACK_OF(X509) *stack);
void roomd_x509_stack_pop_free(STACK_OF(X509) *stack);

/// Sets the SM2 distinguishing ID OpenSSL uses when it verifies this
/// certificate's own signature (OpenSSL 3.0 needs it on every certificate of an
/// SM2 chain, not only the leaf). 1 on success.
int roomd_x509_set_sm2_id(X509 *cert, const unsigned char *id, size_t len);

/// keyUsage bits as X509_get_key_usage reports them, and whether the
/// certificate has a keyUsage extension at all (X509_get_key_usage answers
/// "everything" when it is absent). The KU_ and EXFLAG_ macros in C.
int roomd_x509_has_key_usage(X509 *cert);
extern const uint32_t roomd_KU_DIGITAL_SIGNATURE;
extern const uint32_t roomd_KU_NON_REPUDIATION;
extern const uint32_t roomd_KU_KEY_ENCIPHERMENT;
extern const uint32_t roomd_KU_DATA_ENCIPHERMENT;
extern const uint32_t roomd_KU_KEY_AGREEMENT;
extern const uint32_t roomd_KU_KEY_CERT_SIGN;
extern const uint32_t roomd_KU_CRL_SIGN;

/// EVP_PKEY_CTX_set_rsa_pss_saltlen etc. take these macro values.
extern const int roomd_RSA_PKCS1_PADDING;
extern const int roomd_RSA_PKCS1_PSS_PADDING;
extern const int roomd_RSA_PSS_SALTLEN_DIGEST;
extern const int roomd_RSA_PSS_SALTLEN_AUTO;

/// Verification flags (macros): no time check (roomd checks validity itself
/// against cached dates) and partial chains (an intermediate may be the anchor).
extern const unsigned long roomd_X509_V_FLAG_NO_CHECK_TIME;
extern const unsigned long roomd_X509_V_FLAG_PARTIAL_CHAIN;

/// RFC 3161: a DER TimeStampReq (v1) for a SHA-256 `digest`, with `nonce`
/// (big-endian bytes, top bit clear) and certReq TRUE. Returns the length and
/// sets *out (free with roomd_openssl_free), or returns -1.
int roomd_ts_request(const unsigned char *digest, size_t digest_len,
                     const unsigned char *nonce, size_t nonce_len, unsigned char **out);

/// RFC 3161: verifies a DER TimeStampResp answering the DER TimeStampReq
/// `request`: status granted, TSA signature chaining to one of `anchors`, the
/// TSA certificate's timeStamping usage, the request's imprint and nonce.
/// On success returns 1, sets *token (DER TimeStampToken; free with
/// roomd_openssl_free), *token_len and *gen_time (Unix seconds). On failure
/// returns 0 with the reason in err.
int roomd_ts_verify_response(const unsigned char *response, size_t response_len,
                             const unsigned char *request, size_t request_len,
                             X509 *const *anchors, int anchor_count,
                             unsigned char **token, int *token_len, int64_t *gen_time,
                             char *err, size_t err_len);

/// Verifies a stored DER TimeStampResp offline: granted, signed by a TSA
/// certificate (timeStamping usage) chaining to `anchors`, over the SHA-256
/// `digest` (no nonce: the request is not at hand). The certificates are
/// checked as of the token's genTime (a package outlives its TSA's
/// certificate). Sets *gen_time. On failure returns 0 with the reason in err.
int roomd_ts_verify_stored(const unsigned char *response, size_t response_len,
                           const unsigned char *digest, size_t digest_len,
                           X509 *const *anchors, int anchor_count, int64_t *gen_time,
                           char *err, size_t err_len);

/// CMS EnvelopedData (sealed bids): the typed recipient stack is a macro.
/// NULL / 0 when the content is not (auth)enveloped.
int roomd_cms_recipient_count(CMS_ContentInfo *cms);
CMS_RecipientInfo *roomd_cms_recipient_value(CMS_ContentInfo *cms, int i);

/// Whether one of the envelope's recipients (key transport, or an encrypted
/// key of a key agreement) names `cert`. OpenSSL 3.0 reports a key agreement
/// without a match as a bare failure, so roomd asks before it decrypts.
int roomd_cms_has_recipient(CMS_ContentInfo *cms, X509 *cert);

/// Flag and padding macros the envelope code passes.
extern const int roomd_RSA_PKCS1_OAEP_PADDING;
extern const unsigned int roomd_CMS_BINARY;
extern const unsigned int roomd_CMS_PARTIAL;
extern const unsigned int roomd_CMS_KEY_PARAM;
extern const unsigned int roomd_CMS_DEBUG_DECRYPT;
extern const int roomd_CMS_RECIPINFO_TRANS;
extern const int roomd_CMS_RECIPINFO_AGREE;

#endif
