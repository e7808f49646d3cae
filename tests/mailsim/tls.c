/* tls.c — mailsim's STARTTLS material: the self-signed certificate made at
 * start and server SSL objects on memory BIOs (smtp.c pumps them). */
#include "tls.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

SSL_CTX *tls_server_ctx(void)
{
    SSL_CTX *ctx = NULL;
    X509 *x = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        goto fail;
    x = X509_new();
    if (!x)
        goto fail;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mailsim", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256()))
        goto fail;
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
        goto fail;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    X509_free(x);
    EVP_PKEY_free(key);
    return NULL;
}

SSL *tls_new(SSL_CTX *ctx)
{
    SSL *s = SSL_new(ctx);
    if (!s)
        return NULL;
    BIO *r = BIO_new(BIO_s_mem());
    BIO *w = BIO_new(BIO_s_mem());
    if (!r || !w) {
        BIO_free(r);
        BIO_free(w);
        SSL_free(s);
        return NULL;
    }
    SSL_set_bio(s, r, w);
    SSL_set_accept_state(s);
    return s;
}
