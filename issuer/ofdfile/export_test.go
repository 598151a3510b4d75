package ofdfile

// ModulePath is modulePath, for the tests of the QR's path.
var ModulePath = modulePath
