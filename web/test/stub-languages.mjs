// A language list shaped like `GET /api/v1/languages` (docs/api.md), for the UI tests that run
// without the real server. Versions are Debian 12's.
export const LANGUAGES = [
  { id: "python", name: "Python", version: "3.11.2", aliases: ["python3", "py"], extensions: ["py"], main_file: "main.py",
    template: 'name = input()\nprint(f"Hello, {name}!")\n', compiled: false },
  { id: "cpp", name: "C++", version: "g++ 12.2.0", aliases: ["c++", "g++"], extensions: ["cpp", "cc", "hpp"], main_file: "main.cpp",
    template: '#include <iostream>\n\nint main() {\n    std::string name;\n    std::cin >> name;\n    std::cout << "Hello, " << name << "!\\n";\n}\n', compiled: true },
  { id: "c", name: "C", version: "gcc 12.2.0", aliases: ["gcc"], extensions: ["c", "h"], main_file: "main.c",
    template: '#include <stdio.h>\n\nint main(void) {\n    printf("Hello, world!\\n");\n    return 0;\n}\n', compiled: true },
  { id: "java", name: "Java", version: "OpenJDK 17.0.13", aliases: ["jdk"], extensions: ["java"], main_file: "Main.java",
    template: 'public class Main {\n    public static void main(String[] args) {\n        System.out.println("Hello, world!");\n    }\n}\n', compiled: true },
  { id: "ruby", name: "Ruby", version: "3.1.2", aliases: ["rb"], extensions: ["rb"], main_file: "main.rb",
    template: 'puts "Hello, #{gets&.strip || "world"}!"\n', compiled: false },
  { id: "rust", name: "Rust", version: "rustc 1.63.0", aliases: ["rs"], extensions: ["rs"], main_file: "main.rs",
    template: 'fn main() {\n    println!("Hello, world!");\n}\n', compiled: true },
  { id: "go", name: "Go", version: "1.19.8", aliases: ["golang"], extensions: ["go"], main_file: "main.go",
    template: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n', compiled: true },
  { id: "javascript", name: "JavaScript", version: "Node.js 18.19.0", aliases: ["js", "node"], extensions: ["js"], main_file: "main.js",
    template: 'console.log("Hello, world!");\n', compiled: false },
  { id: "bash", name: "Bash", version: "5.2.15", aliases: ["sh"], extensions: ["sh"], main_file: "main.sh",
    template: 'read -r name\necho "Hello, $name!"\n', compiled: false },
  { id: "haskell", name: "Haskell", version: "GHC 9.0.2", aliases: ["hs", "ghc"], extensions: ["hs"], main_file: "main.hs",
    template: 'main :: IO ()\nmain = putStrLn "Hello, world!"\n', compiled: true },
];
