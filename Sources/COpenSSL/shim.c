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
