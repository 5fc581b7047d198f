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
	errXMLMarkup    = errors.New("markup other than an element inside a known element")
)

// decodeXML is the reference XML decoder, built on encoding/xml: it defines
// what a well-formed XML push is and which value each known field has.
func decodeXML(body []byte) (values, error) {
	var fs values
	if !utf8.Valid(body) {
		return fs, malformed(errInvalidUTF8)
	}
	d := xml.NewDecoder(bytes.NewReader(trimBOM(body)))
	if err := xmlProlog(d); err != nil {
		return fs, err
	}
	if err := xmlRoot(d, &fs); err != nil {
		return fs, err
	}
	return fs, xmlEpilog(d)
}

// xmlProlog reads what stands before the root: whitespace, the XML
// declaration, comments, a DOCTYPE; and the root's start tag, <xml>.
func xmlProlog(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return malformed(errXMLNoElement)
		}
		if err != nil {
			return malformed(err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name != (xml.Name{Local: "xml"}) {
				return malformed(errXMLRoot)
			}
			return nil
		}
		if t, ok := tok.(xml.CharData); ok && !isAllSpace(t) {
			return malformed(errXMLText)
		}
	}
}

// xmlRoot reads the root's children into fs, up to </xml>.
func xmlRoot(d *xml.Decoder, fs *values) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return malformed(eofIsUnexpected(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f, known := lookupField(&fieldIndex, t.Name.Local)
			if !known || t.Name.Space != "" {
				if err := d.Skip(); err != nil {
					return malformed(eofIsUnexpected(err))
				}
				continue
			}
			val, nested, err := xmlValue(d)
			if err != nil {
				return malformed(err)
			}
			fs.set(f, val, nested, false)
		case xml.EndElement:
			return nil
		case xml.CharData:
			if !isAllSpace(t) {
				return malformed(errXMLText)
			}
		}
	}
}

// xmlEpilog checks that only whitespace follows the root.
func xmlEpilog(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed(err)
		}
		if t, ok := tok.(xml.CharData); !ok || !isAllSpace(t) {
			return malformed(errXMLTrailing)
		}
	}
}

// xmlValue reads the content of the element just started, up to its end
// element: the concatenated character data (text and CDATA), and whether an
// element was nested inside. A comment, a processing instruction or a
// directive inside is an error: a value is text.
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
		default: // a comment, a processing instruction, a directive
			return "", false, errXMLMarkup
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
