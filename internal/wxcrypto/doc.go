// Package wxcrypto is WeChat's message crypto, in one place: the SHA-1
// signature over sorted parts, the EncodingAESKey, AES-256-CBC with
// WeChat's payload layout (seal and open), and the envelopes that carry an
// encrypted push or passive reply in XML or JSON.
//
// It knows nothing of csmsg: its errors are its own, and package csmsg maps
// them to its sentinels. csmsg's Receiver, csmsgtest (and through it the
// csmsg command) and the Redis load test all use it, so that WeChat's
// scheme is written once. Reading a push's envelope is not here: the
// Receiver does it with its own scanner, before anything is verified.
package wxcrypto
