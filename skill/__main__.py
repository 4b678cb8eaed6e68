from skill.cli import main

main()
