module example.com/licence

go 1.19
