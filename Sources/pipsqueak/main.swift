import ArgumentParser

Pipsqueak.main()
