package csmsg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// errXMLRoot and the other errors below are the details of an ErrMalformed XML body.
var (
	errXMLRoot      = errors.New("root element is not <xml>")
	errXMLText      = errors.New("text outside an element")
	errXMLTrailing  = errors.New("data after the root element")
	errXMLNoElement = errors.New("no root element")
)

// decodeXML is the reference XML decoder, built on encoding/xml: it defines
// what a well-formed XML push is and which value each known field has.
func decodeXML(body []byte) (fields, error) {
	var fs fields
	if !utf8.Valid(body) {
		return fs, malformed(errInvalidUTF8)
	}
	d := xml.NewDecoder(bytes.NewReader(trimBOM(body)))

	// Before the root: whitespace, the prolog, comments, a DOCTYPE.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fs, malformed(errXMLNoElement)
		}
		if err != nil {
			return fs, malformed(err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name != (xml.Name{Local: "xml"}) {
				return fs, malformed(errXMLRoot)
			}
			break
		}
		if t, ok := tok.(xml.CharData); ok && !isAllSpace(t) {
			return fs, malformed(errXMLText)
		}
	}

	// The root's children, until </xml>.
	for done := false; !done; {
		tok, err := d.Token()
		if err != nil {
			return fs, malformed(eofIsUnexpected(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f, known := lookupField(t.Name.Local)
			if !known || t.Name.Space != "" {
				if err := d.Skip(); err != nil {
					return fs, malformed(eofIsUnexpected(err))
				}
				continue
			}
			val, nested, err := xmlValue(d)
			if err != nil {
				return fs, malformed(err)
			}
			fs.set(f, val, nested)
		case xml.EndElement:
			done = true
		case xml.CharData:
			if !isAllSpace(t) {
				return fs, malformed(errXMLText)
			}
		}
	}

	// After the root: whitespace only.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fs, nil
		}
		if err != nil {
			return fs, malformed(err)
		}
		if t, ok := tok.(xml.CharData); !ok || !isAllSpace(t) {
			return fs, malformed(errXMLTrailing)
		}
	}
}

// xmlValue reads the content of the element just started, up to its end
// element: the concatenated character data (text and CDATA), and whether an
// element was nested inside.
func xmlValue(d *xml.Decoder) (val string, nested bool, err error) {
	var sb strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false, eofIsUnexpected(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			nested = true
			if err := d.Skip(); err != nil {
				return "", false, eofIsUnexpected(err)
			}
		case xml.EndElement:
			return sb.String(), nested, nil
		}
	}
}

// eofIsUnexpected turns io.EOF inside an element into io.ErrUnexpectedEOF.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return fmt.Errorf("truncated body: %w", io.ErrUnexpectedEOF)
	}
	return err
}
