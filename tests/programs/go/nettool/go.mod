module example.com/nettool

go 1.19
