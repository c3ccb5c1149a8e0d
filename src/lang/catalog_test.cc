#include "lang/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace runbox::lang {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kLanguagesDir[] = RUNBOX_LANGUAGES_DIR;

// --- The real catalog: every committed file must load and follow the conventions. ---

class RealCatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Catalog> loaded = LoadCatalog(kLanguagesDir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    catalog_ = new Catalog(std::move(loaded).value());
  }
  static void TearDownTestSuite() {
    delete catalog_;
    catalog_ = nullptr;
  }
  static Catalog* catalog_;
};
Catalog* RealCatalogTest::catalog_ = nullptr;

TEST_F(RealCatalogTest, HasAtLeastSixtyLanguages) { EXPECT_GE(catalog_->size(), 60u); }

TEST_F(RealCatalogTest, IdsAliasesAndExtensionsAreUnambiguous) {
  std::set<std::string> names;
  std::set<std::string> extensions;
  for (const LanguageSpec& spec : catalog_->languages()) {
    EXPECT_TRUE(names.insert(spec.id).second) << spec.id;
    for (const std::string& alias : spec.aliases) {
      EXPECT_TRUE(names.insert(alias).second) << spec.id << " alias " << alias;
    }
    for (const std::string& ext : spec.extensions) {
      EXPECT_TRUE(extensions.insert(ext).second) << spec.id << " extension " << ext;
    }
  }
}

TEST_F(RealCatalogTest, EveryLanguageCarriesItsSelfTest) {
  for (const LanguageSpec& spec : catalog_->languages()) {
    SCOPED_TRACE(spec.source);
    EXPECT_FALSE(spec.test.program.empty());
    EXPECT_FALSE(spec.test.expected_output.empty());
    EXPECT_FALSE(spec.test.runtime_error_program.empty());
    EXPECT_FALSE(spec.template_code.empty());
    if (spec.compiled()) {
      EXPECT_FALSE(spec.test.compile_error_program.empty());
    }
  }
}

TEST_F(RealCatalogTest, CommandsNameDebiansBinaries) {
  // The image's root PATH may put a rustup rustc or a pyenv python3 first; the catalog names
  // Debian's binaries explicitly.
  auto debian = [](const std::string& program) {
    return program.rfind("/usr/bin/", 0) == 0 || program.rfind("./", 0) == 0;
  };
  for (const LanguageSpec& spec : catalog_->languages()) {
    SCOPED_TRACE(spec.source);
    EXPECT_TRUE(debian(spec.version_command[0])) << spec.version_command[0];
    EXPECT_TRUE(debian(spec.run[0])) << spec.run[0];
    if (spec.compiled()) {
      EXPECT_TRUE(debian(spec.compile[0])) << spec.compile[0];
    }
  }
}

TEST_F(RealCatalogTest, PackagesAreOnOneLineForTheInstallScript) {
  // scripts/install-languages.sh reads `packages = [...]` with sed, from a single line.
  const std::regex one_line(R"(^packages\s*=\s*\[.*\]\s*(#.*)?$)");
  for (const LanguageSpec& spec : catalog_->languages()) {
    std::ifstream in(spec.source);
    std::string line;
    int found = 0;
    while (std::getline(in, line)) {
      if (line.rfind("packages", 0) == 0) {
        EXPECT_TRUE(std::regex_match(line, one_line)) << spec.source << ": " << line;
        ++found;
      }
    }
    EXPECT_EQ(found, 1) << spec.source;
  }
}

TEST_F(RealCatalogTest, LooksUpByIdAliasAndExtension) {
  ASSERT_NE(catalog_->Find("cpp"), nullptr);
  EXPECT_EQ(catalog_->Find("C++")->id, "cpp");
  EXPECT_EQ(catalog_->Find("py")->id, "python3");
  EXPECT_EQ(catalog_->Find("golang")->id, "go");
  EXPECT_EQ(catalog_->Find("nonexistent"), nullptr);
  EXPECT_EQ(catalog_->FindByExtension("rs")->id, "rust");
  EXPECT_EQ(catalog_->FindByExtension(".RS")->id, "rust");
  EXPECT_EQ(catalog_->FindByFileName("src/Main.java")->id, "java");
  EXPECT_EQ(catalog_->FindByFileName("main.py")->id, "python3");
  EXPECT_EQ(catalog_->FindByFileName("Makefile"), nullptr);
  EXPECT_EQ(catalog_->FindByFileName(".bashrc"), nullptr);
}

TEST_F(RealCatalogTest, LanguagesAreSortedById) {
  const auto& specs = catalog_->languages();
  for (size_t i = 1; i < specs.size(); ++i) {
    EXPECT_LT(specs[i - 1].id, specs[i].id);
  }
}

// --- Bad files: each gives a precise error naming the file and the key. ---

// A valid interpreted language file for id `id`; `extra` is appended (more keys).
std::string ValidToml(const std::string& id, const std::string& extra = "") {
  std::ostringstream s;
  s << "id = \"" << id << "\"\n"
    << "name = \"Lang " << id << "\"\n"
    << "aliases = [\"" << id << "-alias\"]\n"
    << "extensions = [\"" << id << "x\"]\n"
    << "main_file = \"main." << id << "\"\n"
    << "packages = [\"pkg-" << id << "\"]\n"
    << "version_command = [\"/usr/bin/" << id << "\", \"--version\"]\n"
    << "run = [\"/usr/bin/" << id << "\", \"{main}\", \"{args}\"]\n"
    << "template = 'print hello'\n"
    << "test_program = '''\nprint sum\n'''\n"
    << "test_stdin = \"1 2\\n\"\n"
    << "test_expected = \"3\\n\"\n"
    << "runtime_error_program = 'fail'\n"
    << extra;
  return s.str();
}

class CatalogFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "runbox-lang-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir_) / name) << text;
  }
  std::string Path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  // Loads the directory and returns the error message (the load must fail).
  std::string LoadError() {
    Result<Catalog> catalog = LoadCatalog(dir_);
    EXPECT_FALSE(catalog);
    if (catalog) {
      return "";
    }
    EXPECT_EQ(catalog.error().code, ErrorCode::kInvalidArgument);
    return catalog.error().message;
  }

  std::string dir_;
};

TEST_F(CatalogFilesTest, ValidFilesLoadAndOtherFilesAreIgnored) {
  Write("aa.toml", ValidToml("aa"));
  Write("bb.toml", ValidToml("bb"));
  Write("verify-bwrap.sh", "#!/bin/sh\n");
  Write("README.md", "# languages\n");
  Result<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_TRUE(catalog) << catalog.error().message;
  EXPECT_EQ(catalog->size(), 2u);
  EXPECT_EQ(catalog->Find("bb-alias")->id, "bb");
  EXPECT_EQ(catalog->Find("aa")->source, Path("aa.toml"));
  EXPECT_EQ(catalog->FindByFileName("x.aax")->id, "aa");
}

TEST_F(CatalogFilesTest, LimitsAreParsedWithUnits) {
  Write("go.toml", ValidToml("go",
                             "compile = [\"/usr/bin/go\", \"build\", \"{options}\", \"{main}\"]\n"
                             "compile_error_program = 'x'\n"
                             "env = [\"GOCACHE=/tmp/gocache\"]\n"
                             "binds = [\"/var/lib/go\"]\n"
                             "compile_limits = { memory = \"512M\", pids = 128, cpu_time = 2.5 }\n"
                             "[run_limits]\n"
                             "wall_time = \"1500ms\"\n"
                             "output = 1048576\n"
                             "disk = \"1G\"\n"
                             "file_size = \"8M\"\n"
                             "open_files = 512\n"));
  Result<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_TRUE(catalog) << catalog.error().message;
  const LanguageSpec& go = *catalog->Find("go");
  EXPECT_TRUE(go.compiled());
  EXPECT_EQ(go.compile_limits.memory_bytes, 512ull << 20);
  EXPECT_EQ(go.compile_limits.pids, 128u);
  EXPECT_EQ(go.compile_limits.cpu_time, std::chrono::milliseconds(2500));
  EXPECT_FALSE(go.compile_limits.wall_time);
  EXPECT_EQ(go.run_limits.wall_time, std::chrono::milliseconds(1500));
  EXPECT_EQ(go.run_limits.output_bytes, 1048576u);
  EXPECT_EQ(go.run_limits.disk_bytes, 1ull << 30);
  EXPECT_EQ(go.run_limits.file_size_bytes, 8ull << 20);
  EXPECT_EQ(go.run_limits.open_files, 512u);
  EXPECT_FALSE(go.run_limits.memory_bytes);
  EXPECT_EQ(go.env, std::vector<std::string>{"GOCACHE=/tmp/gocache"});
  EXPECT_EQ(go.binds, std::vector<std::string>{"/var/lib/go"});
}

TEST_F(CatalogFilesTest, UnknownKeyIsNamedWithFileAndLine) {
  Write("go.toml", ValidToml("go", "compil = [\"/usr/bin/go\", \"build\"]\n"));
  EXPECT_EQ(LoadError(), Path("go.toml") + ": unknown key 'compil' (line 16)");
}

TEST_F(CatalogFilesTest, UnknownLimitKeyIsNamed) {
  Write("go.toml", ValidToml("go", "run_limits = { mem = \"1G\" }\n"));
  EXPECT_THAT(LoadError(),
              StartsWith(Path("go.toml") + ": unknown key 'run_limits.mem' (line 16)"));
}

TEST_F(CatalogFilesTest, SyntaxErrorGivesPosition) {
  Write("go.toml", "id = \"go\"\nname = \"Go\nmain_file = \"main.go\"\n");
  EXPECT_THAT(LoadError(), StartsWith(Path("go.toml") + ":2:"));
  EXPECT_THAT(LoadError(), HasSubstr("TOML syntax error"));
}

TEST_F(CatalogFilesTest, WrongTypesAreNamed) {
  std::string text = ValidToml("go");
  text.replace(text.find("aliases = [\"go-alias\"]"), 22, "aliases = \"golang\"");
  Write("go.toml", text);
  EXPECT_EQ(LoadError(), Path("go.toml") + ": aliases: must be an array of strings (line 3)");

  Write("go.toml", ValidToml("go", "env = [\"A=1\", 2]\n"));
  EXPECT_EQ(LoadError(), Path("go.toml") + ": env: must be an array of strings (line 16)");

  Write("go.toml", ValidToml("go", "run_limits = { pids = \"many\" }\n"));
  EXPECT_EQ(LoadError(),
            Path("go.toml") + ": run_limits.pids: must be a non-negative integer (line 16)");

  Write("go.toml", ValidToml("go", "run_limits = { memory = \"lots\" }\n"));
  EXPECT_THAT(LoadError(),
              StartsWith(Path("go.toml") + ": run_limits.memory: invalid size 'lots'"));

  Write("go.toml", ValidToml("go", "run_limits = 5\n"));
  EXPECT_THAT(LoadError(), StartsWith(Path("go.toml") + ": run_limits: must be a table"));
}

TEST_F(CatalogFilesTest, MissingRequiredKeysAreAllListed) {
  Write("go.toml", "id = \"go\"\nname = \"Go\"\n");
  std::string error = LoadError();
  EXPECT_THAT(error, HasSubstr(Path("go.toml") + ": missing required key 'main_file'"));
  EXPECT_THAT(error, HasSubstr(Path("go.toml") + ": missing required key 'run'"));
  EXPECT_THAT(error, HasSubstr(Path("go.toml") + ": missing required key 'test_program'"));
}

TEST_F(CatalogFilesTest, ContentErrorsNameTheKey) {
  Write("go.toml", ValidToml("go", "compile = [\"go\", \"build\"]\ncompile_error_program = 'x'\n"));
  EXPECT_THAT(LoadError(),
              StartsWith(Path("go.toml") + ": compile: the program 'go' must be an absolute path"));
}

TEST_F(CatalogFilesTest, IdMustMatchFileName) {
  Write("golang.toml", ValidToml("go"));
  EXPECT_EQ(LoadError(), Path("golang.toml") + ": id: 'go' must equal the file name 'golang'");
}

TEST_F(CatalogFilesTest, DuplicateAliasAcrossFilesNamesBoth) {
  Write("aa.toml", ValidToml("aa"));
  std::string text = ValidToml("bb");
  text.replace(text.find("\"bb-alias\""), 10, "\"aa-alias\"");
  Write("bb.toml", text);
  EXPECT_EQ(LoadError(), Path("bb.toml") +
                             ": aliases: 'aa-alias' is already the id or an alias of " +
                             Path("aa.toml"));
}

TEST_F(CatalogFilesTest, AliasEqualToAnotherIdIsAmbiguous) {
  Write("aa.toml", ValidToml("aa"));
  std::string text = ValidToml("bb");
  text.replace(text.find("\"bb-alias\""), 10, "\"aa\"");
  Write("bb.toml", text);
  EXPECT_THAT(LoadError(), HasSubstr(Path("bb.toml") + ": aliases: 'aa' is already"));
}

TEST_F(CatalogFilesTest, DuplicateExtensionAcrossFilesNamesBoth) {
  Write("aa.toml", ValidToml("aa"));
  std::string text = ValidToml("bb");
  text.replace(text.find("\"bbx\""), 5, "\"aax\"");
  Write("bb.toml", text);
  EXPECT_EQ(LoadError(),
            Path("bb.toml") + ": extensions: 'aax' is already claimed by " + Path("aa.toml"));
}

TEST_F(CatalogFilesTest, EveryBadFileIsReported) {
  Write("aa.toml", ValidToml("aa", "bogus = 1\n"));
  Write("bb.toml", ValidToml("bb", "other = 2\n"));
  Write("cc.toml", ValidToml("cc"));
  std::string error = LoadError();
  EXPECT_THAT(error, HasSubstr(Path("aa.toml") + ": unknown key 'bogus'"));
  EXPECT_THAT(error, HasSubstr(Path("bb.toml") + ": unknown key 'other'"));
  EXPECT_THAT(error, Not(HasSubstr("cc.toml")));
}

// --- LoadCatalogFor: only the language one run needs, the whole catalog otherwise. ---

TEST_F(CatalogFilesTest, ForAnIdLoadsOnlyThatFile) {
  Write("aa.toml", ValidToml("aa"));
  Write("bb.toml", ValidToml("bb", "bogus = 1\n"));  // broken, and not needed
  Result<Catalog> catalog = LoadCatalogFor(dir_, "AA", "");
  ASSERT_TRUE(catalog) << catalog.error().message;
  EXPECT_EQ(catalog->size(), 1u);
  EXPECT_EQ(catalog->Find("aa")->source, Path("aa.toml"));
}

TEST_F(CatalogFilesTest, ForAFileNameLoadsTheLanguageClaimingItsExtension) {
  Write("aa.toml", ValidToml("aa"));
  Write("bb.toml", ValidToml("bb"));
  Result<Catalog> catalog = LoadCatalogFor(dir_, "", "src/prog.BBX");
  ASSERT_TRUE(catalog) << catalog.error().message;
  EXPECT_EQ(catalog->size(), 1u);
  EXPECT_EQ(catalog->FindByFileName("prog.bbx")->id, "bb");
}

TEST_F(CatalogFilesTest, ForAnAliasOrAnUnknownExtensionLoadsEverything) {
  Write("aa.toml", ValidToml("aa"));
  Write("bb.toml", ValidToml("bb"));
  Result<Catalog> by_alias = LoadCatalogFor(dir_, "bb-alias", "");
  ASSERT_TRUE(by_alias) << by_alias.error().message;
  EXPECT_EQ(by_alias->size(), 2u);
  Result<Catalog> by_ext = LoadCatalogFor(dir_, "", "prog.zz");
  ASSERT_TRUE(by_ext) << by_ext.error().message;
  EXPECT_EQ(by_ext->size(), 2u);
  EXPECT_EQ(by_ext->FindByFileName("prog.zz"), nullptr);
}

TEST_F(CatalogFilesTest, ForAnAmbiguousExtensionReportsTheConflict) {
  Write("aa.toml", ValidToml("aa"));
  std::string text = ValidToml("bb");
  text.replace(text.find("\"bbx\""), 5, "\"aax\"");
  Write("bb.toml", text);
  Result<Catalog> catalog = LoadCatalogFor(dir_, "", "prog.aax");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message, HasSubstr("'aax' is already claimed"));
}

TEST_F(CatalogFilesTest, EmptyDirectoryIsAnError) {
  EXPECT_THAT(LoadError(), HasSubstr("no *.toml language files"));
}

TEST(LoadCatalogTest, MissingDirectoryIsNotFound) {
  Result<Catalog> catalog = LoadCatalog("/nonexistent/runbox/languages");
  ASSERT_FALSE(catalog);
  EXPECT_EQ(catalog.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(catalog.error().message, HasSubstr("/nonexistent/runbox/languages"));
}

TEST(LoadLanguageFileTest, MissingFileIsAnError) {
  Result<LanguageSpec> spec = LoadLanguageFile("/nonexistent/go.toml");
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error().message, HasSubstr("/nonexistent/go.toml"));
}

TEST(ParseLanguageTest, ParsesFromText) {
  Result<LanguageSpec> spec = ParseLanguage(ValidToml("zz"), "languages/zz.toml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->id, "zz");
  EXPECT_EQ(spec->test.program, "print sum\n");  // TOML trims the newline after '''
  EXPECT_EQ(spec->test.stdin_data, "1 2\n");
  EXPECT_FALSE(spec->compiled());
}

TEST(ParseLanguageTest, UnknownKeyMessageMatchesTheDocumentedForm) {
  Result<LanguageSpec> spec = ParseLanguage(ValidToml("go", "compil = []\n"), "languages/go.toml");
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error().message, StartsWith("languages/go.toml: unknown key 'compil'"));
}

TEST(CatalogCreateTest, ValidatesSpecsBuiltInCode) {
  LanguageSpec bad;
  bad.id = "x";
  Result<Catalog> catalog = Catalog::Create({bad});
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message, StartsWith("language 'x': name:"));
}

}  // namespace
}  // namespace runbox::lang
