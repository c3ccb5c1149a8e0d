#include "sandbox/mount_plan.h"

#include <sys/mount.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbox::sandbox {
namespace {

const MountOp* Find(const MountPlan& p, MountOp::Kind kind, const std::string& target) {
  for (const auto& op : p.ops()) {
    if (op.kind == kind && op.target == target) {
      return &op;
    }
  }
  return nullptr;
}

TEST(MountPlan, BuildsAFullBoxUnderTheStagingRoot) {
  Policy policy;
  auto p = MountPlan::Build(policy, "/stage");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->ops().front().kind, MountOp::Kind::kTmpfs);
  EXPECT_STREQ(p->ops().front().target, "/stage");
  const MountOp* usr = Find(*p, MountOp::Kind::kBind, "/stage/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->attr_set & MOUNT_ATTR_RDONLY, MOUNT_ATTR_RDONLY);
  EXPECT_EQ(usr->attr_set & MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSUID);
  EXPECT_EQ(usr->attr_set & MOUNT_ATTR_NODEV, MOUNT_ATTR_NODEV);
  EXPECT_NE(Find(*p, MountOp::Kind::kProc, "/stage/proc"), nullptr);
  EXPECT_NE(Find(*p, MountOp::Kind::kBind, "/stage/dev/null"), nullptr);
  EXPECT_NE(Find(*p, MountOp::Kind::kTmpfs, "/stage/tmp"), nullptr);
  EXPECT_NE(Find(*p, MountOp::Kind::kWriteFile, "/stage/etc/passwd"), nullptr);
  const MountOp* box = Find(*p, MountOp::Kind::kTmpfs, "/stage/box");
  ASSERT_NE(box, nullptr);
  EXPECT_THAT(box->data, ::testing::HasSubstr("uid=1000,gid=1000"));
  // Nothing targets a path outside the staging root.
  for (size_t i = 0; i < p->ops().size(); ++i) {
    EXPECT_EQ(std::string(p->ops()[i].target).rfind("/stage", 0), 0u) << p->Describe(i);
  }
}

TEST(MountPlan, TmpfsSizesFollowTheDiskLimit) {
  Policy policy;
  policy.limits.disk_bytes = 12345678;
  auto p = MountPlan::Build(policy, "/r");
  ASSERT_TRUE(p);
  const MountOp* tmp = Find(*p, MountOp::Kind::kTmpfs, "/r/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_THAT(tmp->data, ::testing::HasSubstr("size=12345678"));
}

TEST(MountPlan, MissingRequiredBindIsAnError) {
  Policy policy;
  policy.binds = {{"/no/such/dir", "/x", false, false}};
  auto p = MountPlan::Build(policy, "/r");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(p.error().message, ::testing::HasSubstr("/no/such/dir"));
}

TEST(MountPlan, GeneratedEtcFilesYieldToABindOfEtc) {
  Policy policy;
  policy.binds = {{"/usr", "/usr"}, {"/etc", "/etc"}};
  auto p = MountPlan::Build(policy, "/r");
  ASSERT_TRUE(p);
  EXPECT_EQ(Find(*p, MountOp::Kind::kWriteFile, "/r/etc/passwd"), nullptr);
}

}  // namespace
}  // namespace runbox::sandbox
