module memtests

go 1.21
