#include "COpenSSL.h"
#include <string.h>

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
