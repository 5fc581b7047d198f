package csmsg

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// errJSONNotObject is the detail of an ErrMalformed body that is not an object.
var errJSONNotObject = errors.New("not a JSON object")

// decodeJSON is the reference JSON decoder, built on encoding/json: it
// defines what a well-formed JSON push is and which value each known field
// has.
func decodeJSON(body []byte) (values, error) {
	var fs values
	if !utf8.Valid(body) {
		return fs, malformed(errInvalidUTF8)
	}
	b := trimBOM(body)
	if rest := trimLeft(body); len(rest) == 0 || rest[0] != '{' {
		return fs, malformed(errJSONNotObject)
	}
	// A map keeps exact-case keys apart, and the last of a repeated key.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return fs, malformed(err)
	}
	for name, raw := range obj {
		if f, ok := lookupField(&fieldIndex, name); ok {
			val, ok := jsonValue(f, raw)
			fs.set(f, val, !ok, ok && raw[0] != '"' && raw[0] != 'n')
		}
	}
	return fs, nil
}

// jsonValue returns the text of a known field's JSON value, and false if the
// value has the wrong type for f.
func jsonValue(f field, raw json.RawMessage) (string, bool) {
	switch raw[0] {
	case 'n': // null
		return "", true
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if f.numeric() {
			return string(raw), true
		}
	}
	return "", false
}
