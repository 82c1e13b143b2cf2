module github.com/linesight/linesight

go 1.26.0
