module example.com/badtree

go 1.26
