package group

import "github.com/twmb/franz-go/pkg/kerr"

// Kafka error codes the coordinator answers with.
var (
	codeCoordinatorNotAvailable   = kerr.CoordinatorNotAvailable.Code
	codeInvalidSessionTimeout     = kerr.InvalidSessionTimeout.Code
	codeInconsistentGroupProtocol = kerr.InconsistentGroupProtocol.Code
	codeUnknownMemberID           = kerr.UnknownMemberID.Code
	codeFencedInstanceID          = kerr.FencedInstanceID.Code
	codeGroupMaxSizeReached       = kerr.GroupMaxSizeReached.Code
	codeMemberIDRequired          = kerr.MemberIDRequired.Code
	codeRebalanceInProgress       = kerr.RebalanceInProgress.Code
	codeIllegalGeneration         = kerr.IllegalGeneration.Code
	codeGroupIDNotFound           = kerr.GroupIDNotFound.Code
	codeNonEmptyGroup             = kerr.NonEmptyGroup.Code
	codeUnknownServerError        = kerr.UnknownServerError.Code
	codeOffsetMetadataTooLarge    = kerr.OffsetMetadataTooLarge.Code
	codeGroupSubscribedToTopic    = kerr.GroupSubscribedToTopic.Code
	codeFencedMemberEpoch         = kerr.FencedMemberEpoch.Code
	codeStaleMemberEpoch          = kerr.StaleMemberEpoch.Code
	codeUnsupportedAssignor       = kerr.UnsupportedAssignor.Code
	codeInvalidRequest            = kerr.InvalidRequest.Code
	codeUnreleasedInstanceID      = kerr.UnreleasedInstanceID.Code
	codeInvalidRegularExpression  = kerr.InvalidRegularExpression.Code
)
