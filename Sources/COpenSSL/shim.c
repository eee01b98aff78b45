#include "COpenSSL.h"
#include <stdio.h>
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

int roomd_ts_request(const unsigned char *digest, size_t digest_len,
                     const unsigned char *nonce, size_t nonce_len, unsigned char **out) {
    int length = -1;
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *imprint = TS_MSG_IMPRINT_new();
    X509_ALGOR *algorithm = X509_ALGOR_new();
    BIGNUM *bn = BN_bin2bn(nonce, (int)nonce_len, NULL);
    ASN1_INTEGER *asn1_nonce = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    if (!req || !imprint || !algorithm || !asn1_nonce) goto done;
    if (!X509_ALGOR_set0(algorithm, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL)) goto done;
    if (!TS_MSG_IMPRINT_set_algo(imprint, algorithm)) goto done;
    if (!TS_MSG_IMPRINT_set_msg(imprint, (unsigned char *)digest, (int)digest_len)) goto done;
    if (!TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, imprint)) goto done;
    if (!TS_REQ_set_nonce(req, asn1_nonce) || !TS_REQ_set_cert_req(req, 1)) goto done;
    *out = NULL;
    length = i2d_TS_REQ(req, out);
    if (length <= 0) length = -1;
done:
    ASN1_INTEGER_free(asn1_nonce);
    BN_free(bn);
    X509_ALGOR_free(algorithm);
    TS_MSG_IMPRINT_free(imprint);
    TS_REQ_free(req);
    return length;
}

static void roomd_ts_error(char *err, size_t err_len, const char *what) {
    char detail[256] = "";
    unsigned long code = ERR_get_error();
    if (code) ERR_error_string_n(code, detail, sizeof detail);
    snprintf(err, err_len, "%s%s%s", what, code ? ": " : "", detail);
    ERR_clear_error();
}

int roomd_ts_verify_response(const unsigned char *response, size_t response_len,
                             const unsigned char *request, size_t request_len,
                             X509 *const *anchors, int anchor_count,
                             unsigned char **token, int *token_len, int64_t *gen_time,
                             char *err, size_t err_len) {
    int ok = 0;
    const unsigned char *cursor = response;
    TS_RESP *resp = d2i_TS_RESP(NULL, &cursor, (long)response_len);
    const unsigned char *request_cursor = request;
    TS_REQ *req = d2i_TS_REQ(NULL, &request_cursor, (long)request_len);
    X509_STORE *store = X509_STORE_new();
    TS_VERIFY_CTX *ctx = NULL;
    if (!resp) { roomd_ts_error(err, err_len, "not a DER TimeStampResp"); goto done; }
    if (!req || !store) { roomd_ts_error(err, err_len, "cannot prepare the verification"); goto done; }
    for (int i = 0; i < anchor_count; i++) {
        if (!X509_STORE_add_cert(store, anchors[i])) { roomd_ts_error(err, err_len, "cannot add a TSA trust anchor"); goto done; }
    }
    // From the request: the imprint and the nonce to expect, and the flags
    // (signature, version, imprint, nonce; no policy or TSA name was asked for).
    ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
    if (!ctx) { roomd_ts_error(err, err_len, "cannot prepare the verification"); goto done; }
    // The context owns the store from here on: TS_VERIFY_CTX_free frees it.
    TS_VERIFY_CTX_set_store(ctx, store);
    store = NULL;
    if (TS_RESP_verify_response(ctx, resp) != 1) { roomd_ts_error(err, err_len, "the timestamp response does not verify"); goto done; }
    PKCS7 *p7 = TS_RESP_get_token(resp);
    TS_TST_INFO *info = TS_RESP_get_tst_info(resp);
    const ASN1_GENERALIZEDTIME *when = info ? TS_TST_INFO_get_time(info) : NULL;
    struct tm parts;
    if (!p7 || !when || !ASN1_TIME_to_tm(when, &parts)) { roomd_ts_error(err, err_len, "the timestamp token has no time"); goto done; }
    unsigned char *der = NULL;
    int length = i2d_PKCS7(p7, &der);
    if (length <= 0) { roomd_ts_error(err, err_len, "cannot encode the timestamp token"); goto done; }
    *token = der;
    *token_len = length;
    *gen_time = (int64_t)timegm(&parts);
    ok = 1;
done:
    X509_STORE_free(store);
    TS_VERIFY_CTX_free(ctx);
    TS_REQ_free(req);
    TS_RESP_free(resp);
    return ok;
}

int roomd_ts_verify_stored(const unsigned char *response, size_t response_len,
                           const unsigned char *digest, size_t digest_len,
                           X509 *const *anchors, int anchor_count, int64_t *gen_time,
                           char *err, size_t err_len) {
    int ok = 0;
    const unsigned char *cursor = response;
    TS_RESP *resp = d2i_TS_RESP(NULL, &cursor, (long)response_len);
    X509_STORE *store = X509_STORE_new();
    TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
    unsigned char *imprint = OPENSSL_malloc(digest_len);
    if (!resp) { roomd_ts_error(err, err_len, "not a DER TimeStampResp"); goto done; }
    if (!store || !ctx || !imprint) { roomd_ts_error(err, err_len, "cannot prepare the verification"); goto done; }
    for (int i = 0; i < anchor_count; i++) {
        if (!X509_STORE_add_cert(store, anchors[i])) { roomd_ts_error(err, err_len, "cannot add a TSA trust anchor"); goto done; }
    }
    memcpy(imprint, digest, digest_len);
    // The TSA's certificate is checked as of the token's own genTime, not
    // today (`openssl ts -verify -attime`): a package verified after the TSA
    // certificate expired still proves when it was sealed. The time is only
    // believed once the signature over it verifies below.
    TS_TST_INFO *claimed = TS_RESP_get_tst_info(resp);
    const ASN1_GENERALIZEDTIME *claimed_time = claimed ? TS_TST_INFO_get_time(claimed) : NULL;
    struct tm claimed_parts;
    if (!claimed_time || !ASN1_TIME_to_tm(claimed_time, &claimed_parts)) {
        roomd_ts_error(err, err_len, "the timestamp token has no time");
        goto done;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), timegm(&claimed_parts));
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_SIGNATURE | TS_VFY_VERSION | TS_VFY_IMPRINT);
    TS_VERIFY_CTX_set_imprint(ctx, imprint, (long)digest_len);
    imprint = NULL;  // owned by ctx
    TS_VERIFY_CTX_set_store(ctx, store);
    store = NULL;
    if (TS_RESP_verify_response(ctx, resp) != 1) {
        roomd_ts_error(err, err_len, "the timestamp does not verify (wrong data, not from a trusted TSA, or damaged)");
        goto done;
    }
    TS_TST_INFO *info = TS_RESP_get_tst_info(resp);
    const ASN1_GENERALIZEDTIME *when = info ? TS_TST_INFO_get_time(info) : NULL;
    struct tm parts;
    if (!when || !ASN1_TIME_to_tm(when, &parts)) { roomd_ts_error(err, err_len, "the timestamp token has no time"); goto done; }
    *gen_time = (int64_t)timegm(&parts);
    ok = 1;
done:
    OPENSSL_free(imprint);
    X509_STORE_free(store);
    TS_VERIFY_CTX_free(ctx);
    TS_RESP_free(resp);
    return ok;
}

int roomd_cms_recipient_count(CMS_ContentInfo *cms) {
    STACK_OF(CMS_RecipientInfo) *infos = CMS_get0_RecipientInfos(cms);
    ERR_clear_error();  /* "not enveloped data" is an answer here, not an error */
    return infos ? sk_CMS_RecipientInfo_num(infos) : 0;
}

CMS_RecipientInfo *roomd_cms_recipient_value(CMS_ContentInfo *cms, int i) {
    STACK_OF(CMS_RecipientInfo) *infos = CMS_get0_RecipientInfos(cms);
    return infos ? sk_CMS_RecipientInfo_value(infos, i) : NULL;
}

int roomd_cms_has_recipient(CMS_ContentInfo *cms, X509 *cert) {
    STACK_OF(CMS_RecipientInfo) *infos = CMS_get0_RecipientInfos(cms);
    if (infos == NULL) {
        ERR_clear_error();
        return 0;
    }
    for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); i++) {
        CMS_RecipientInfo *info = sk_CMS_RecipientInfo_value(infos, i);
        int type = CMS_RecipientInfo_type(info);
        if (type == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(info, cert) == 0) return 1;
        if (type == CMS_RECIPINFO_AGREE) {
            STACK_OF(CMS_RecipientEncryptedKey) *keys = CMS_RecipientInfo_kari_get0_reks(info);
            for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(keys); k++) {
                if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(keys, k), cert) == 0) return 1;
            }
        }
    }
    ERR_clear_error();
    return 0;
}

const int roomd_RSA_PKCS1_OAEP_PADDING = RSA_PKCS1_OAEP_PADDING;
const unsigned int roomd_CMS_BINARY = CMS_BINARY;
const unsigned int roomd_CMS_PARTIAL = CMS_PARTIAL;
const unsigned int roomd_CMS_KEY_PARAM = CMS_KEY_PARAM;
const unsigned int roomd_CMS_DEBUG_DECRYPT = CMS_DEBUG_DECRYPT;
const int roomd_CMS_RECIPINFO_TRANS = CMS_RECIPINFO_TRANS;
const int roomd_CMS_RECIPINFO_AGREE = CMS_RECIPINFO_AGREE;
