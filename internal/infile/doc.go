// Package infile holds what fdsm's file readers share so that no input can
// make them allocate without bound or print without bound: Open refuses what
// is not a regular file (a device such as /dev/zero has no end, a pipe no
// size) and returns the size, which bounds what a reader may allocate; Cut
// shortens input quoted in an error message.
package infile
