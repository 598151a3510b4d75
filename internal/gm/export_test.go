package gm

// Test-only hooks for the external gm_test package.

// SealSM4GCMWithNonce is SealSM4GCM with a caller-chosen nonce, so that the
// AEAD gm builds can be checked against published SM4-GCM vectors. Never
// reuse a nonce outside tests.
func SealSM4GCMWithNonce(key, nonce, plaintext, additionalData []byte) ([]byte, error) {
	aead, err := sm4GCM(key)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), nonce...)
	return aead.Seal(out, nonce, plaintext, additionalData), nil
}

// CurveOrder is n of the SM2 curve.
var CurveOrder = curveOrder
