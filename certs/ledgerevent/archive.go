package ledgerevent

import (
	"encoding/binary"
	"fmt"
	"time"
)

// KindArchiveExported records an archive package (电子档案) exported
// (issuer/archive, docs/formats.md "Archive package").
const KindArchiveExported Kind = 16

// ArchiveExported records that an agency's archive package of the
// licences issued or changed in [From, To) was written. The package is
// identified by the SM3 of its signed manifest, which names the SM3 of
// every file in it: whoever holds a package can tell whether it is the
// one the ledger recorded.
type ArchiveExported struct {
	Time   time.Time `json:"time"`   // when the export was recorded
	Agency string    `json:"agency"` // the agency whose licences the package holds
	From   time.Time `json:"from"`   // start of the period (inclusive)
	To     time.Time `json:"to"`     // end of the period (exclusive)
	Count  uint64    `json:"count"`  // licence versions in the package
	// Manifest is SM3 of the package's manifest bytes (manifest.json).
	Manifest Digest `json:"manifest_sm3"`
	// Operator commits to the token subject of the admin who exported.
	Operator Commitment `json:"operator"`
}

func (*ArchiveExported) Kind() Kind { return KindArchiveExported }

// Head's subject is the manifest's SM3 in hex: it names the package.
func (e *ArchiveExported) Head() Head { return Head{e.Time, e.Agency, e.Manifest.String()} }

func (e *ArchiveExported) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.time("from", &e.From)
	c.time("to", &e.To)
	c.uint64("count", &e.Count)
	c.digest("manifest_sm3", (*[DigestSize]byte)(&e.Manifest))
	c.commitment(FieldOperator, &e.Operator)
}

func (e *ArchiveExported) check() error {
	if !e.From.Before(e.To) {
		return fmt.Errorf("from: %v is not before to %v", e.From, e.To)
	}
	return nil
}

// ArchiveExported commits to the operator's token subject.
func (a *AuditKey) ArchiveExported(e ArchiveExported, operator string) *ArchiveExported {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// uint64 is 8 bytes big-endian.
func (c *codec) uint64(field string, v *uint64) {
	switch {
	case c.find != "":
	case c.decoding:
		if b := c.take(field, 8); b != nil {
			*v = binary.BigEndian.Uint64(b)
		}
	default:
		c.buf = binary.BigEndian.AppendUint64(c.buf, *v)
	}
}
