module example.com/shipit

go 1.19
