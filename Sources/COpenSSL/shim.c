#include "COpenSSL.h"
#include <string.h>
#include <time.h>

const int roomd_MBSTRING_UTF8 = MBSTRING_UTF8;

void roomd_openssl_free(void *ptr) { OPENSSL_free(ptr); }

void roomd_openssl_last_error(char *buf, size_t len) {
    if (len == 0) return;
    buf[0] = 0;
    unsigned long code = ERR_peek_last_error();
    if (code != 0) ERR_error_string_n(code, buf, len);
    ERR_clear_error();
}

int roomd_general_names_count(const GENERAL_NAMES *names) {
    return names ? sk_GENERAL_NAME_num(names) : 0;
}

const GENERAL_NAME *roomd_general_names_value(const GENERAL_NAMES *names, int i) {
    return sk_GENERAL_NAME_value(names, i);
}

void roomd_general_names_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }

const unsigned char *roomd_general_name_uri(const GENERAL_NAME *name, int *len) {
    if (name == NULL || name->type != GEN_URI) return NULL;
    *len = ASN1_STRING_length(name->d.uniformResourceIdentifier);
    return ASN1_STRING_get0_data(name->d.uniformResourceIdentifier);
}

int roomd_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

char *roomd_x509_name_rfc2253(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return NULL;
    char *out = NULL;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *data = NULL;
        long len = BIO_get_mem_data(bio, &data);
        out = OPENSSL_malloc((size_t)len + 1);
        if (out != NULL) {
            memcpy(out, data, (size_t)len);
            out[len] = 0;
        }
    }
    BIO_free(bio);
    return out;
}

int roomd_asn1_time_to_unix(const ASN1_TIME *time, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

const unsigned char *roomd_general_name_dns(const GENERAL_NAME *name, int *len) {
    if (name == NULL || name->type != GEN_DNS) return NULL;
    *len = ASN1_STRING_length(name->d.dNSName);
    return ASN1_STRING_get0_data(name->d.dNSName);
}

int roomd_x509_is_ca(X509 *cert) {
    return X509_check_ca(cert) >= 1 && (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

STACK_OF(X509) *roomd_x509_stack_new(void) { return sk_X509_new_null(); }
int roomd_x509_stack_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert) > 0; }
int roomd_x509_stack_count(const STACK_OF(X509) *stack) { return stack ? sk_X509_num(stack) : 0; }
X509 *roomd_x509_stack_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
void roomd_x509_stack_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }
void roomd_x509_stack_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

int roomd_x509_set_sm2_id(X509 *cert, const unsigned char *id, size_t len) {
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    if (value == NULL) return 0;
    if (ASN1_OCTET_STRING_set(value, id, (int)len) != 1) {
        ASN1_OCTET_STRING_free(value);
        return 0;
    }
    X509_set0_distinguishing_id(cert, value);  /* takes ownership */
    return 1;
}

int roomd_x509_has_key_usage(X509 *cert) {
    return (X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0;
}
const uint32_t roomd_KU_DIGITAL_SIGNATURE = KU_DIGITAL_SIGNATURE;
const uint32_t roomd_KU_NON_REPUDIATION = KU_NON_REPUDIATION;
const uint32_t roomd_KU_KEY_ENCIPHERMENT = KU_KEY_ENCIPHERMENT;
const uint32_t roomd_KU_DATA_ENCIPHERMENT = KU_DATA_ENCIPHERMENT;
const uint32_t roomd_KU_KEY_AGREEMENT = KU_KEY_AGREEMENT;
const uint32_t roomd_KU_KEY_CERT_SIGN = KU_KEY_CERT_SIGN;
const uint32_t roomd_KU_CRL_SIGN = KU_CRL_SIGN;

const int roomd_RSA_PKCS1_PADDING = RSA_PKCS1_PADDING;
const int roomd_RSA_PKCS1_PSS_PADDING = RSA_PKCS1_PSS_PADDING;
const int roomd_RSA_PSS_SALTLEN_DIGEST = RSA_PSS_SALTLEN_DIGEST;
const int roomd_RSA_PSS_SALTLEN_AUTO = RSA_PSS_SALTLEN_AUTO;

const unsigned long roomd_X509_V_FLAG_NO_CHECK_TIME = X509_V_FLAG_NO_CHECK_TIME;
const unsigned long roomd_X509_V_FLAG_PARTIAL_CHAIN = X509_V_FLAG_PARTIAL_CHAIN;
