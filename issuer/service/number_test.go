package service

import (
	"context"
	"errors"
	"testing"
)

// TestLicenceNumber: a class with a number field issues its licences with
// that field's value as 证照编号 (lic.number), re-issues take the new
// value, and a number given that is not the field's is refused.
func TestLicenceNumber(t *testing.T) {
	e := openEnv(t, t.TempDir())
	ctx := context.Background()
	const class = "food-operation-permit"
	op := operatorFor(t, e.pki, class)
	fields := samples(t)[class]
	is, err := e.svc.Issue(ctx, op, IssueRequest{Class: class, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	if is.Record.Number != fields["permit_no"] || fields["permit_no"] == "" {
		t.Fatalf("number %q, want the permit_no %q", is.Record.Number, fields["permit_no"])
	}
	same, err := e.svc.Issue(ctx, op, IssueRequest{Class: class, Fields: fields, Number: fields["permit_no"]})
	if err != nil || same.Record.Number != fields["permit_no"] {
		t.Fatalf("the field's own number: %v %+v", err, same)
	}
	var se *Error
	if _, err := e.svc.Issue(ctx, op, IssueRequest{Class: class, Fields: fields, Number: "JY00000000000000"}); !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Field != "number" {
		t.Fatalf("another number: %v", err)
	}
	next := "JY13101150009999"
	re, err := e.svc.Reissue(ctx, op, is.Record.ID, ReissueRequest{Fields: map[string]string{"permit_no": next}})
	if err != nil || re.Number != next {
		t.Fatalf("re-issued with a new permit number: %v %+v", err, re)
	}

	// A class without one keeps what the caller gives.
	bop := operatorFor(t, e.pki, "business-license")
	b, err := e.svc.Issue(ctx, bop, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"], Number: "N-1"})
	if err != nil || b.Record.Number != "N-1" {
		t.Fatalf("business licence: %v %+v", err, b)
	}
}
