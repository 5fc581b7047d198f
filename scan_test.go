package csmsg

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestScannersLongValues holds the scanners and the decoding of escapes
// and entities to the reference on long values, where the word-at-a-time
// loops and decodeJSONString's buffer meet their edges: escapes, entities
// and multi-byte characters at every offset, values longer than the buffer.
func TestScannersLongValues(t *testing.T) {
	pieces := []string{"a", "bcdefgh", " ", "!", "你", "é", "😀", `\"`, `\\`, `\n`, `\u4f60`, `\ud83d\ude00`, `\ud83d`, `\/`, "&amp;", "&#x4f60;", "\r\n", "<![CDATA[x]]>", "]]", "0123456789"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		var v strings.Builder
		for l := rng.IntN(300); v.Len() < l; {
			v.WriteString(pieces[rng.IntN(len(pieces))])
		}
		val := v.String()
		checkMatchesReference(t, jsonImpl, []byte(`{"MsgType":"text","Content":"`+val+`","MsgId":`+strings.Repeat("7", 1+n%25)+`}`))
		checkMatchesReference(t, xmlImpl, []byte(`<xml><MsgType>text</MsgType><Content>`+val+`</Content><MsgId>`+strings.Repeat("7", 1+n%25)+`</MsgId></xml>`))
	}
}

func TestParseCreateTime(t *testing.T) {
	for _, s := range []string{"0", "7", "1234567", "12345678", "123456789", "1714037059", "000001714037059", "9999999999999999", "12345678901234567", "999999999999999999", "9223372036854775807", "9223372036854775808", "-1", "+1", "12a45678", "1234567a90", "123456789\x00", "１２３４５６７８"} {
		want, wantErr := strconv.ParseInt(s, 10, 64)
		got, err := parseCreateTime(s)
		if (err != nil) != (wantErr != nil) || err == nil && got != want {
			t.Errorf("parseCreateTime(%q) = %d, %v; strconv: %d, %v", s, got, err, want, wantErr)
		}
	}
}
