// Package jsonout writes the one-line JSON objects of fdsm's -json output
// and metrics logs: encoding/json's bytes, except that a NaN or an
// infinity, which JSON cannot hold, is written as null and named, so that
// the caller can warn. It is internal because only fdsm's own commands and
// experiments print this way.
package jsonout
