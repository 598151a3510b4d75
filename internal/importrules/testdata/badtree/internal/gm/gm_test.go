package gm_test

import _ "github.com/tjfoc/gmsm/sm2"
