module tspgen

go 1.26

require github.com/emmansun/gmsm v0.44.1
