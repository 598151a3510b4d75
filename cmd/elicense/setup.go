package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"elicense/certs/ledgerevent"
	"elicense/internal/atomicfile"
	"elicense/internal/gm"
	"elicense/issuer/pki"
)

// dataDir is the layout of a server's data directory.
type dataDir string

func (d dataDir) path(name string) string { return filepath.Join(string(d), name) }
func (d dataDir) pki() string             { return d.path("pki") }
func (d dataDir) ledger() string          { return d.path("ledger.db") }
func (d dataDir) tokenKey() string        { return d.path("token.key.pem") }
func (d dataDir) auditKey() string        { return d.path("audit.key.pem") }
func (d dataDir) adminToken() string      { return d.path("admin.token") }
func (d dataDir) passphrase() string      { return d.path("passphrase") }

// passphrase finds the key passphrase: --passphrase-file, then
// ELICENSE_PASSPHRASE_FILE, then ELICENSE_PASSPHRASE, then the file the
// first start wrote into the data directory. It is never a flag value.
func passphrase(e *env, d dataDir, file string) ([]byte, error) {
	if file == "" {
		file, _ = e.lookupEnv("ELICENSE_PASSPHRASE_FILE")
	}
	if file != "" {
		return gm.PassphraseSource{File: file}.Read()
	}
	if v, ok := e.lookupEnv(passphraseEnv); ok {
		if v == "" {
			return nil, fmt.Errorf("%w: %s is set but empty", gm.ErrPassphrase, passphraseEnv)
		}
		return []byte(v), nil
	}
	if _, err := os.Stat(d.passphrase()); err == nil {
		return gm.PassphraseSource{File: d.passphrase()}.Read()
	}
	return nil, fmt.Errorf("%w: set --passphrase-file, ELICENSE_PASSPHRASE_FILE or %s", gm.ErrPassphrase, passphraseEnv)
}

// productionPKI loads the deployment's PKI for --production: it makes
// none, and takes the passphrase only from outside the data directory (a
// passphrase kept beside the keys it encrypts protects nothing).
func productionPKI(e *env, d dataDir, file string) (*pki.PKI, []byte, error) {
	if _, err := os.Stat(filepath.Join(d.pki(), pki.ManifestFile)); err != nil {
		return nil, nil, fmt.Errorf("production: no PKI in %s: a deployment brings its own, made with its root (elicense init makes a development one): %w", d.pki(), err)
	}
	if file == "" {
		file, _ = e.lookupEnv("ELICENSE_PASSPHRASE_FILE")
	}
	if file == "" {
		if _, ok := e.lookupEnv(passphraseEnv); !ok {
			return nil, nil, fmt.Errorf("production: give the key passphrase with --passphrase-file (outside %s), ELICENSE_PASSPHRASE_FILE or %s", string(d), passphraseEnv)
		}
	} else if inside(string(d), file) {
		return nil, nil, fmt.Errorf("production: the passphrase file %s is inside the data directory %s, beside the keys it encrypts: keep it elsewhere (a secret store, a mounted file)", file, string(d))
	}
	if _, err := os.Stat(d.passphrase()); err == nil {
		return nil, nil, fmt.Errorf("production: %s holds a key passphrase beside the keys (a development data directory?): move it out of the data directory", d.passphrase())
	}
	return loadPKI(e, d, file)
}

// inside reports whether path lies in dir.
func inside(dir, path string) bool {
	ad, err1 := filepath.Abs(dir)
	ap, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return true // unsure: refuse
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// ensurePKI makes a development PKI on first start, when the data
// directory has none, and loads it.
func ensurePKI(e *env, d dataDir, file string) (*pki.PKI, []byte, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return nil, nil, err
	}
	_, err := os.Stat(filepath.Join(d.pki(), pki.ManifestFile))
	first := errors.Is(err, fs.ErrNotExist)
	pw, perr := passphrase(e, d, file)
	if first {
		if perr != nil {
			raw := make([]byte, 32)
			rand.Read(raw)
			pw = []byte(base64.StdEncoding.EncodeToString(raw))
			if err := writeFileAtomic(d.passphrase(), append(pw, '\n'), 0o600); err != nil {
				return nil, nil, err
			}
			fmt.Fprintf(e.stderr, "elicense: first start: generated a key passphrase in %s (mode 0600)\n", d.passphrase())
		}
		if _, err := pki.Init(pki.InitOptions{Dir: d.pki(), Passphrase: pw, Agencies: pki.DefaultAgencies()}); err != nil {
			return nil, nil, fmt.Errorf("making the development PKI: %w", err)
		}
		fmt.Fprintf(e.stderr, "elicense: first start: made a development PKI in %s (root, %d agencies, ledger key)\n", d.pki(), len(pki.DefaultAgencies()))
	} else if perr != nil {
		return nil, nil, perr
	}
	p, err := pki.Load(d.pki(), pw)
	if err != nil {
		return nil, nil, err
	}
	return p, pw, nil
}

// tokenKey loads the operator-token signing key, making it on first use.
func tokenKey(d dataDir, pw []byte) (*gm.PrivateKey, error) {
	k, _, err := loadOrMakeKey(d.tokenKey(), pw, true)
	return k, err
}

// loadOrMakeKey reads the encrypted SM2 key at path, or, when it is
// missing and create is set, makes one and writes it durably (made reports
// which). Every secret of the data directory is kept this way: one at-rest
// format, one re-encryption procedure.
func loadOrMakeKey(path string, pw []byte, create bool) (k *gm.PrivateKey, made bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if k, err = gm.GenerateKey(); err != nil {
			return nil, false, err
		}
		enc, err := gm.MarshalEncryptedPrivateKey(k, pw, nil)
		if err != nil {
			return nil, false, err
		}
		return k, true, writeFileAtomic(path, enc, 0o600)
	}
	if err != nil {
		return nil, false, err
	}
	if k, err = gm.ParsePrivateKeyPEM(data, pw); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, false, nil
}

// auditKey loads the ledger audit key, from which the salts of the
// ledger's commitments to personal data are derived (certs/ledgerevent).
// It is kept like the token key: an SM2 key in encrypted PKCS#8 under the
// key passphrase, so one at-rest format (and one re-encryption procedure)
// covers every secret; its 32-byte scalar is the HMAC-SM3 key and is
// never used to sign. It is made when missing only if the ledger is empty
// (first start): a ledger with entries committed under a key that is gone
// could no longer be opened for an auditor, so a missing key then is an
// error (restore it from the backup of the data directory).
func auditKey(e *env, d dataDir, pw []byte, ledgerEmpty bool) (*ledgerevent.AuditKey, error) {
	k, made, err := loadOrMakeKey(d.auditKey(), pw, ledgerEmpty)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing but the ledger has entries committed under it: restore it from a backup (without it no commitment can be opened for an auditor)", d.auditKey())
	}
	if err != nil {
		return nil, err
	}
	if made {
		fmt.Fprintf(e.stderr, "elicense: first start: made the ledger audit key %s (mode 0600); back it up with the PKI\n", d.auditKey())
	}
	return ledgerevent.NewAuditKey(k.Bytes())
}

// audience names this deployment in operator tokens: tokens minted for
// another PKI are refused.
func audience(p *pki.PKI) string { return "elicense:" + p.Manifest.Root.KeyID }

// writeFileAtomic writes data to path durably (internal/atomicfile):
// keys written here precede ledger entries committed under them.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}

// syncDir makes a directory's entries (a rename into it) durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }

// loadConfig reads the optional JSON config file into flag defaults.
func loadConfig(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("config %s: want a JSON object of strings: %w", path, err)
	}
	return m, nil
}

// loadPKI loads an existing PKI (it never makes one).
func loadPKI(e *env, d dataDir, file string) (*pki.PKI, []byte, error) {
	pw, err := passphrase(e, d, file)
	if err != nil {
		return nil, nil, err
	}
	p, err := pki.Load(d.pki(), pw)
	return p, pw, err
}

// operatorToken reads the bearer token for commands that talk to a server:
// from the file named by --token-file, else ELICENSE_TOKEN.
func operatorToken(e *env, tokenFile string) (string, error) {
	token := ""
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", err
		}
		token = strings.TrimSpace(string(b))
	} else if v, ok := e.lookupEnv("ELICENSE_TOKEN"); ok {
		token = strings.TrimSpace(v)
	}
	if token == "" {
		return "", errors.New("no token: use --token-file or ELICENSE_TOKEN")
	}
	return token, nil
}
