package ofd

import "time"

// ChinaTime is China Standard Time (UTC+8, no daylight saving): the zone
// of the dates GB/T 33190 writes without one (DocInfo CreationDate, a
// SignatureDateTime as producers write it), and of the days elicense's
// OFD files and archive periods name.
var ChinaTime = time.FixedZone("CST", 8*3600)
