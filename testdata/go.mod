module example.com/gofiltest

go 1.22
