module github.com/fdsm/fdsm

go 1.26
