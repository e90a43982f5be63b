from podbay.entry import main

main()
