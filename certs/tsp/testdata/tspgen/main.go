// Command tspgen writes an RFC 3161 TimeStampToken signed by
// github.com/emmansun/gmsm/pkcs7 (GM/T 0010 SignedData, SM3, SM2, signed
// attributes) with an OpenSSL-made TSA certificate. Usage:
//
//	tspgen tsa.pem tsa.key value.bin token.der
package main

import (
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

type algID struct{ Algorithm asn1.ObjectIdentifier }

type imprint struct {
	HashAlgorithm algID
	HashedMessage []byte
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint imprint
	SerialNumber   *big.Int
	GenTime        time.Time `asn1:"generalized"`
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func main() {
	certPEM, _ := pem.Decode(must(os.ReadFile(os.Args[1])))
	keyPEM, _ := pem.Decode(must(os.ReadFile(os.Args[2])))
	cert := must(smx509.ParseCertificate(certPEM.Bytes))
	key := must(smx509.ParsePKCS8PrivateKey(keyPEM.Bytes))
	h := sm3.Sum(must(os.ReadFile(os.Args[3])))
	info := must(asn1.Marshal(tstInfo{
		Version:        1,
		Policy:         asn1.ObjectIdentifier{1, 2, 3, 4, 1},
		MessageImprint: imprint{algID{asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}}, h[:]},
		SerialNumber:   big.NewInt(20260425),
		GenTime:        time.Now().UTC().Truncate(time.Second),
	}))
	sd := must(pkcs7.NewSMSignedData(info))
	sd.GetSignedData().ContentInfo.ContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		panic(err)
	}
	if err := os.WriteFile(os.Args[4], must(sd.Finish()), 0o644); err != nil {
		panic(err)
	}
}
