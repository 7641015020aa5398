/*
 * The agent's self-signed TLS certificate, made with libcrypto in memory
 * (see tlscert.h), and its fingerprint. The fingerprint's text form
 * (tlscert_fp_parse, tlscert_fp_hex) is hex.c's, in the core library.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tlscert.h"
#include "xmalloc.h"

/* Valid from a day ago (a laptop's clock may be behind the cluster's)
 * for ten years: nothing checks the dates, the pin is the trust. */
#define TLSCERT_BACKDATE_S	(24L * 3600)
#define TLSCERT_LIFE_S		(10L * 365 * 24 * 3600)

/* A memory BIO's contents as a new NUL-terminated string. */
static int
bio_take(BIO *b, char **out, size_t *len)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0)
		return -EIO;
	*out = xmalloc((size_t)n + 1);
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static EVP_PKEY *
make_p256_key(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *pk = NULL;

	if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc,
	    NID_X9_62_prime256v1) <= 0 || EVP_PKEY_keygen(kc, &pk) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(kc);
	return pk;
}

int
tlscert_make(struct tlscert *t, const char *cn)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	BIO *cb = NULL, *kb = NULL;
	unsigned char serial[16];
	int rc = -EIO;

	memset(t, 0, sizeof(*t));
	if ((pk = make_p256_key()) == NULL || (x = X509_new()) == NULL)
		goto out;
	/* A random positive serial: two certificates of two agents never
	 * look the same to a client's cache. */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -TLSCERT_BACKDATE_S) ==
	    NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), TLSCERT_LIFE_S) == NULL ||
	    X509_set_pubkey(x, pk) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(cb, x) != 1 ||
	    PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (tlscert_fp_x509(x, t->fp) < 0 ||
	    bio_take(cb, &t->cert_pem, &t->cert_len) < 0 ||
	    bio_take(kb, &t->key_pem, &t->key_len) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		tlscert_free(t);
	BIO_free(cb);
	BIO_free(kb);	/* a mem BIO clears nothing: the key's copy is ours */
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

void
tlscert_free(struct tlscert *t)
{
	if (t->key_pem != NULL)
		explicit_bzero(t->key_pem, t->key_len);
	x_free(t->key_pem);
	x_free(t->cert_pem);
	memset(t, 0, sizeof(*t));
}

int
tlscert_fp_x509(void *x509, uint8_t fp[TLSCERT_FP_LEN])
{
	unsigned int n = 0;

	if (X509_digest(x509, EVP_sha256(), fp, &n) != 1 ||
	    n != TLSCERT_FP_LEN)
		return -EIO;
	return 0;
}
