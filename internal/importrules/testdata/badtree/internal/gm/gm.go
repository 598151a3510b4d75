package gm

import _ "github.com/emmansun/gmsm/sm3"
