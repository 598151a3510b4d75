package helpertest

import "testing"

var _ testing.TB
