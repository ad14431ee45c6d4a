// A CDK app like the ones that create IRSA roles next to an EKS cluster: the cluster's IAM OIDC
// provider (eks.OpenIdConnectProvider, the CDK's custom resource) and one role per ServiceAccount,
// trusting the provider with conditions on <issuer>:sub and <issuer>:aud. The issuer is a token,
// so the conditions go through CfnJson, as the CDK's own eks.ServiceAccount does
// (https://github.com/aws/aws-cdk/blob/v2.276.0/packages/aws-cdk-lib/aws-eks/lib/service-account.ts). The roles are the public examples irsa-guard's
// IRSA080 is about: cluster-autoscaler's and velero's roles trust the hand-written names, which
// their charts' default ServiceAccount names miss.
//
// Synthesized offline by the Go tests (internal/nodetools): node app.js OUTDIR.
const cdk = require('aws-cdk-lib');
const eks = require('aws-cdk-lib/aws-eks');
const iam = require('aws-cdk-lib/aws-iam');

const app = new cdk.App({ outdir: process.argv[2] || 'cdk.out' });
const stack = new cdk.Stack(app, 'IrsaRoles', {
  synthesizer: new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
});

// The example cluster of irsa-guard's docs.
const provider = new eks.OpenIdConnectProvider(stack, 'ClusterOidcProvider', {
  url: 'https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E',
});

// serviceAccountRole is what eks.ServiceAccount does for a role: trust the provider for one
// namespace/name, with the issuer-keyed conditions in a CfnJson.
function serviceAccountRole(id, roleName, namespace, name, issuer, principalArn) {
  const conditions = new cdk.CfnJson(stack, `${id}Conditions`, {
    value: {
      [`${issuer}:aud`]: 'sts.amazonaws.com',
      [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${name}`,
    },
  });
  return new iam.Role(stack, id, {
    roleName,
    assumedBy: new iam.WebIdentityPrincipal(principalArn, { StringEquals: conditions }),
  });
}

const issuer = provider.openIdConnectProviderIssuer;
const arn = provider.openIdConnectProviderArn;
serviceAccountRole('AutoscalerRole', 'cluster-autoscaler', 'kube-system', 'cluster-autoscaler', issuer, arn);
serviceAccountRole('VeleroRole', 'velero', 'velero', 'velero', issuer, arn);
serviceAccountRole('OrdersRole', 'shop-orders', 'shop', 'orders', issuer, arn);
// No roleName: CloudFormation generates one.
serviceAccountRole('PaymentsRole', undefined, 'shop', 'payments', issuer, arn);

// A role for a cluster defined in another stack: its issuer is imported, known only at deploy.
const imported = cdk.Fn.importValue('SharedClusterOidcIssuer');
serviceAccountRole('ReportsRole', 'reports', 'reports', 'exporter', imported,
  cdk.Fn.join('', ['arn:', cdk.Aws.PARTITION, ':iam::', cdk.Aws.ACCOUNT_ID, ':oidc-provider/', imported]));

// A role whose trust is written out with FederatedPrincipal, for a namespace given at deploy time.
const ns = new cdk.CfnParameter(stack, 'BillingNamespace', { type: 'String' });
new iam.Role(stack, 'BillingRole', {
  roleName: 'billing',
  path: '/workloads/',
  assumedBy: new iam.FederatedPrincipal(arn, {
    StringEquals: new cdk.CfnJson(stack, 'BillingConditions', {
      value: { [`${issuer}:sub`]: cdk.Fn.join('', ['system:serviceaccount:', ns.valueAsString, ':billing']) },
    }),
  }, 'sts:AssumeRoleWithWebIdentity'),
});

app.synth();
