from ragloom.cli import main

main()
