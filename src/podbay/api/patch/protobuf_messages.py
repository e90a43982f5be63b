"""The message table of :mod:`podbay.api.patch.protobuf`: for each kube protobuf message podbay
decodes, its field numbers, JSON names and types.

Interoperability data written for podbay from the field numbers and Go field types of upstream's
``k8s.io/api`` and ``k8s.io/apimachinery`` types (``generated.proto`` and the ``protobuf:`` struct
tags of ``types.go``). Kept as one compact string, parsed on the first protobuf body, so importing
the decoder costs nothing.

Format. ``[pkg openapi-prefix] apiVersion: Kind ...`` opens a package section (the kinds listed are
the top-level messages decodable for that apiVersion; the prefix names the OpenAPI definitions the
tests check the table against). ``Message: N json:type, ...`` lists a message's fields; lines that
start with a space continue the previous line. Types: ``s`` string, ``b`` bytes (base64 in JSON),
``i`` varint integer, ``B`` bool, ``d`` double, ``Time``, ``MicroTime``, ``Duration``, ``Quantity``,
``IntOrString``, ``FieldsV1``, ``[T]`` repeated, ``{s:T}`` map, or a message name (looked up in the
section, then ``core``, then ``meta``; ``pkg.Name`` names another section's). Suffix ``?``: a Go
pointer (a zero value on the wire is kept); ``!``: a non-pointer field without ``omitempty`` (its
zero value is written in JSON, so it is kept and filled in when absent); otherwise a zero scalar is
dropped, as Go's ``omitempty`` does. JSON name ``*``: an embedded struct whose fields are inlined
into the parent object (``json:",inline"``).
"""

SPEC = """
[runtime]
Unknown: 1 typeMeta:TypeMeta, 2 raw:b, 3 contentEncoding:s, 4 contentType:s
TypeMeta: 1 apiVersion:s, 2 kind:s

[meta io.k8s.apimachinery.pkg.apis.meta.v1]
ObjectMeta: 1 name:s, 2 generateName:s, 3 namespace:s, 4 selfLink:s, 5 uid:s, 6 resourceVersion:s,
  7 generation:i, 8 creationTimestamp:Time, 9 deletionTimestamp:Time, 10 deletionGracePeriodSeconds:i?,
  11 labels:{s:s}, 12 annotations:{s:s}, 13 ownerReferences:[OwnerReference], 14 finalizers:[s],
  17 managedFields:[ManagedFieldsEntry]
OwnerReference: 1 kind:s!, 3 name:s!, 4 uid:s!, 5 apiVersion:s!, 6 controller:B?, 7 blockOwnerDeletion:B?
ManagedFieldsEntry: 1 manager:s, 2 operation:s, 3 apiVersion:s, 4 time:Time, 6 fieldsType:s, 7 fieldsV1:FieldsV1,
  8 subresource:s
DeleteOptions: 1 gracePeriodSeconds:i?, 2 preconditions:Preconditions, 3 orphanDependents:B?,
  4 propagationPolicy:s?, 5 dryRun:[s], 6 ignoreStoreReadErrorWithClusterBreakingPotential:B?
Preconditions: 1 uid:s?, 2 resourceVersion:s?
LabelSelector: 1 matchLabels:{s:s}, 2 matchExpressions:[LabelSelectorRequirement]
LabelSelectorRequirement: 1 key:s!, 2 operator:s!, 3 values:[s]
FieldSelectorRequirement: 1 key:s!, 2 operator:s!, 3 values:[s]
Condition: 1 type:s!, 2 status:s!, 3 observedGeneration:i, 4 lastTransitionTime:Time, 5 reason:s!, 6 message:s!

[core io.k8s.api.core.v1] v1: ConfigMap Secret Namespace ServiceAccount Service Pod ReplicationController
  PersistentVolumeClaim PersistentVolume Endpoints ResourceQuota LimitRange PodTemplate Event Binding
Volume: 1 name:s!, 2 *:VolumeSource
VolumeSource: 1 hostPath:HostPathVolumeSource, 2 emptyDir:EmptyDirVolumeSource,
  3 gcePersistentDisk:GCEPersistentDiskVolumeSource, 4 awsElasticBlockStore:AWSElasticBlockStoreVolumeSource,
  5 gitRepo:GitRepoVolumeSource, 6 secret:SecretVolumeSource, 7 nfs:NFSVolumeSource, 8 iscsi:ISCSIVolumeSource,
  9 glusterfs:GlusterfsVolumeSource, 10 persistentVolumeClaim:PersistentVolumeClaimVolumeSource,
  11 rbd:RBDVolumeSource, 12 flexVolume:FlexVolumeSource, 13 cinder:CinderVolumeSource, 14 cephfs:CephFSVolumeSource,
  15 flocker:FlockerVolumeSource, 16 downwardAPI:DownwardAPIVolumeSource, 17 fc:FCVolumeSource,
  18 azureFile:AzureFileVolumeSource, 19 configMap:ConfigMapVolumeSource, 20 vsphereVolume:VsphereVirtualDiskVolumeSource,
  21 quobyte:QuobyteVolumeSource, 22 azureDisk:AzureDiskVolumeSource,
  23 photonPersistentDisk:PhotonPersistentDiskVolumeSource, 24 portworxVolume:PortworxVolumeSource,
  25 scaleIO:ScaleIOVolumeSource, 26 projected:ProjectedVolumeSource, 27 storageos:StorageOSVolumeSource,
  28 csi:CSIVolumeSource, 29 ephemeral:EphemeralVolumeSource, 30 image:ImageVolumeSource
PersistentVolumeClaimVolumeSource: 1 claimName:s!, 2 readOnly:B
PersistentVolumeSource: 1 gcePersistentDisk:GCEPersistentDiskVolumeSource,
  2 awsElasticBlockStore:AWSElasticBlockStoreVolumeSource, 3 hostPath:HostPathVolumeSource,
  4 glusterfs:GlusterfsPersistentVolumeSource, 5 nfs:NFSVolumeSource, 6 rbd:RBDPersistentVolumeSource,
  7 iscsi:ISCSIPersistentVolumeSource, 8 cinder:CinderPersistentVolumeSource, 9 cephfs:CephFSPersistentVolumeSource,
  10 fc:FCVolumeSource, 11 flocker:FlockerVolumeSource, 12 flexVolume:FlexPersistentVolumeSource,
  13 azureFile:AzureFilePersistentVolumeSource, 14 vsphereVolume:VsphereVirtualDiskVolumeSource,
  15 quobyte:QuobyteVolumeSource, 16 azureDisk:AzureDiskVolumeSource,
  17 photonPersistentDisk:PhotonPersistentDiskVolumeSource, 18 portworxVolume:PortworxVolumeSource,
  19 scaleIO:ScaleIOPersistentVolumeSource, 20 local:LocalVolumeSource, 21 storageos:StorageOSPersistentVolumeSource,
  22 csi:CSIPersistentVolumeSource
PersistentVolume: 1 metadata:ObjectMeta, 2 spec:PersistentVolumeSpec, 3 status:PersistentVolumeStatus
PersistentVolumeSpec: 1 capacity:{s:Quantity}, 2 *:PersistentVolumeSource, 3 accessModes:[s], 4 claimRef:ObjectReference,
  5 persistentVolumeReclaimPolicy:s, 6 storageClassName:s, 7 mountOptions:[s], 8 volumeMode:s?,
  9 nodeAffinity:VolumeNodeAffinity, 10 volumeAttributesClassName:s?
VolumeNodeAffinity: 1 required:NodeSelector
PersistentVolumeStatus: 1 phase:s, 2 message:s, 3 reason:s, 4 lastPhaseTransitionTime:Time
PersistentVolumeClaim: 1 metadata:ObjectMeta, 2 spec:PersistentVolumeClaimSpec, 3 status:PersistentVolumeClaimStatus
PersistentVolumeClaimSpec: 1 accessModes:[s], 2 resources:VolumeResourceRequirements, 3 volumeName:s,
  4 selector:LabelSelector, 5 storageClassName:s?, 6 volumeMode:s?, 7 dataSource:TypedLocalObjectReference,
  8 dataSourceRef:TypedObjectReference, 9 volumeAttributesClassName:s?
TypedObjectReference: 1 apiGroup:s?, 2 kind:s!, 3 name:s!, 4 namespace:s?
ModifyVolumeStatus: 1 targetVolumeAttributesClassName:s, 2 status:s!
PersistentVolumeClaimCondition: 1 type:s!, 2 status:s!, 3 lastProbeTime:Time, 4 lastTransitionTime:Time, 5 reason:s,
  6 message:s
PersistentVolumeClaimStatus: 1 phase:s, 2 accessModes:[s], 3 capacity:{s:Quantity},
  4 conditions:[PersistentVolumeClaimCondition], 5 allocatedResources:{s:Quantity}, 7 allocatedResourceStatuses:{s:s},
  8 currentVolumeAttributesClassName:s?, 9 modifyVolumeStatus:ModifyVolumeStatus
HostPathVolumeSource: 1 path:s!, 2 type:s?
EmptyDirVolumeSource: 1 medium:s, 2 sizeLimit:Quantity
GlusterfsVolumeSource: 1 endpoints:s!, 2 path:s!, 3 readOnly:B
GlusterfsPersistentVolumeSource: 1 endpoints:s!, 2 path:s!, 3 readOnly:B, 4 endpointsNamespace:s?
RBDVolumeSource: 1 monitors:[s], 2 image:s!, 3 fsType:s, 4 pool:s, 5 user:s, 6 keyring:s,
  7 secretRef:LocalObjectReference, 8 readOnly:B
RBDPersistentVolumeSource: 1 monitors:[s], 2 image:s!, 3 fsType:s, 4 pool:s, 5 user:s, 6 keyring:s,
  7 secretRef:SecretReference, 8 readOnly:B
CinderVolumeSource: 1 volumeID:s!, 2 fsType:s, 3 readOnly:B, 4 secretRef:LocalObjectReference
CinderPersistentVolumeSource: 1 volumeID:s!, 2 fsType:s, 3 readOnly:B, 4 secretRef:SecretReference
CephFSVolumeSource: 1 monitors:[s], 2 path:s, 3 user:s, 4 secretFile:s, 5 secretRef:LocalObjectReference, 6 readOnly:B
CephFSPersistentVolumeSource: 1 monitors:[s], 2 path:s, 3 user:s, 4 secretFile:s, 5 secretRef:SecretReference,
  6 readOnly:B
SecretReference: 1 name:s, 2 namespace:s
FlockerVolumeSource: 1 datasetName:s, 2 datasetUUID:s
GCEPersistentDiskVolumeSource: 1 pdName:s!, 2 fsType:s, 3 partition:i, 4 readOnly:B
QuobyteVolumeSource: 1 registry:s!, 2 volume:s!, 3 readOnly:B, 4 user:s, 5 group:s, 6 tenant:s
FlexPersistentVolumeSource: 1 driver:s!, 2 fsType:s, 3 secretRef:SecretReference, 4 readOnly:B, 5 options:{s:s}
FlexVolumeSource: 1 driver:s!, 2 fsType:s, 3 secretRef:LocalObjectReference, 4 readOnly:B, 5 options:{s:s}
AWSElasticBlockStoreVolumeSource: 1 volumeID:s!, 2 fsType:s, 3 partition:i, 4 readOnly:B
GitRepoVolumeSource: 1 repository:s!, 2 revision:s, 3 directory:s
SecretVolumeSource: 1 secretName:s, 2 items:[KeyToPath], 3 defaultMode:i?, 4 optional:B?
SecretProjection: 1 *:LocalObjectReference, 2 items:[KeyToPath], 4 optional:B?
NFSVolumeSource: 1 server:s!, 2 path:s!, 3 readOnly:B
ISCSIVolumeSource: 1 targetPortal:s!, 2 iqn:s!, 3 lun:i!, 4 iscsiInterface:s, 5 fsType:s, 6 readOnly:B, 7 portals:[s],
  8 chapAuthDiscovery:B, 10 secretRef:LocalObjectReference, 11 chapAuthSession:B, 12 initiatorName:s?
ISCSIPersistentVolumeSource: 1 targetPortal:s!, 2 iqn:s!, 3 lun:i!, 4 iscsiInterface:s, 5 fsType:s, 6 readOnly:B,
  7 portals:[s], 8 chapAuthDiscovery:B, 10 secretRef:SecretReference, 11 chapAuthSession:B, 12 initiatorName:s?
FCVolumeSource: 1 targetWWNs:[s], 2 lun:i?, 3 fsType:s, 4 readOnly:B, 5 wwids:[s]
AzureFileVolumeSource: 1 secretName:s!, 2 shareName:s!, 3 readOnly:B
AzureFilePersistentVolumeSource: 1 secretName:s!, 2 shareName:s!, 3 readOnly:B, 4 secretNamespace:s?
VsphereVirtualDiskVolumeSource: 1 volumePath:s!, 2 fsType:s, 3 storagePolicyName:s, 4 storagePolicyID:s
PhotonPersistentDiskVolumeSource: 1 pdID:s!, 2 fsType:s
AzureDiskVolumeSource: 1 diskName:s!, 2 diskURI:s!, 3 cachingMode:s?, 4 fsType:s?, 5 readOnly:B?, 6 kind:s?
PortworxVolumeSource: 1 volumeID:s!, 2 fsType:s, 3 readOnly:B
ScaleIOVolumeSource: 1 gateway:s!, 2 system:s!, 3 secretRef:LocalObjectReference, 4 sslEnabled:B, 5 protectionDomain:s,
  6 storagePool:s, 7 storageMode:s, 8 volumeName:s, 9 fsType:s, 10 readOnly:B
ScaleIOPersistentVolumeSource: 1 gateway:s!, 2 system:s!, 3 secretRef:SecretReference, 4 sslEnabled:B,
  5 protectionDomain:s, 6 storagePool:s, 7 storageMode:s, 8 volumeName:s, 9 fsType:s, 10 readOnly:B
StorageOSVolumeSource: 1 volumeName:s, 2 volumeNamespace:s, 3 fsType:s, 4 readOnly:B, 5 secretRef:LocalObjectReference
StorageOSPersistentVolumeSource: 1 volumeName:s, 2 volumeNamespace:s, 3 fsType:s, 4 readOnly:B,
  5 secretRef:ObjectReference
ConfigMapVolumeSource: 1 *:LocalObjectReference, 2 items:[KeyToPath], 3 defaultMode:i?, 4 optional:B?
ConfigMapProjection: 1 *:LocalObjectReference, 2 items:[KeyToPath], 4 optional:B?
ServiceAccountTokenProjection: 1 audience:s, 2 expirationSeconds:i?, 3 path:s!
ClusterTrustBundleProjection: 1 name:s?, 2 signerName:s?, 3 labelSelector:LabelSelector, 4 path:s!, 5 optional:B?
ProjectedVolumeSource: 1 sources:[VolumeProjection], 2 defaultMode:i?
VolumeProjection: 1 secret:SecretProjection, 2 downwardAPI:DownwardAPIProjection, 3 configMap:ConfigMapProjection,
  4 serviceAccountToken:ServiceAccountTokenProjection, 5 clusterTrustBundle:ClusterTrustBundleProjection,
  6 podCertificate:PodCertificateProjection
KeyToPath: 1 key:s!, 2 path:s!, 3 mode:i?
LocalVolumeSource: 1 path:s!, 2 fsType:s?
CSIPersistentVolumeSource: 1 driver:s!, 2 volumeHandle:s!, 3 readOnly:B, 4 fsType:s, 5 volumeAttributes:{s:s},
  6 controllerPublishSecretRef:SecretReference, 7 nodeStageSecretRef:SecretReference,
  8 nodePublishSecretRef:SecretReference, 9 controllerExpandSecretRef:SecretReference,
  10 nodeExpandSecretRef:SecretReference
CSIVolumeSource: 1 driver:s!, 2 readOnly:B?, 3 fsType:s?, 4 volumeAttributes:{s:s},
  5 nodePublishSecretRef:LocalObjectReference
EphemeralVolumeSource: 1 volumeClaimTemplate:PersistentVolumeClaimTemplate
PersistentVolumeClaimTemplate: 1 metadata:ObjectMeta, 2 spec:PersistentVolumeClaimSpec
ContainerPort: 1 name:s, 2 hostPort:i, 3 containerPort:i!, 4 protocol:s, 5 hostIP:s
VolumeMount: 1 name:s!, 2 readOnly:B, 3 mountPath:s!, 4 subPath:s, 5 mountPropagation:s?, 6 subPathExpr:s,
  7 recursiveReadOnly:s?
VolumeDevice: 1 name:s!, 2 devicePath:s!
EnvVar: 1 name:s!, 2 value:s, 3 valueFrom:EnvVarSource
EnvVarSource: 1 fieldRef:ObjectFieldSelector, 2 resourceFieldRef:ResourceFieldSelector,
  3 configMapKeyRef:ConfigMapKeySelector, 4 secretKeyRef:SecretKeySelector, 5 fileKeyRef:FileKeySelector
ObjectFieldSelector: 1 apiVersion:s, 2 fieldPath:s!
ResourceFieldSelector: 1 containerName:s, 2 resource:s!, 3 divisor:Quantity
ConfigMapKeySelector: 1 *:LocalObjectReference, 2 key:s!, 3 optional:B?
SecretKeySelector: 1 *:LocalObjectReference, 2 key:s!, 3 optional:B?
EnvFromSource: 1 prefix:s, 2 configMapRef:ConfigMapEnvSource, 3 secretRef:SecretEnvSource
ConfigMapEnvSource: 1 *:LocalObjectReference, 2 optional:B?
SecretEnvSource: 1 *:LocalObjectReference, 2 optional:B?
HTTPHeader: 1 name:s!, 2 value:s!
HTTPGetAction: 1 path:s, 2 port:IntOrString, 3 host:s, 4 scheme:s, 5 httpHeaders:[HTTPHeader]
TCPSocketAction: 1 port:IntOrString, 2 host:s
GRPCAction: 1 port:i!, 2 service:s?
ExecAction: 1 command:[s]
SleepAction: 1 seconds:i!
Probe: 1 *:ProbeHandler, 2 initialDelaySeconds:i, 3 timeoutSeconds:i, 4 periodSeconds:i, 5 successThreshold:i,
  6 failureThreshold:i, 7 terminationGracePeriodSeconds:i?
ContainerResizePolicy: 1 resourceName:s!, 2 restartPolicy:s!
Capabilities: 1 add:[s], 2 drop:[s]
ResourceRequirements: 1 limits:{s:Quantity}, 2 requests:{s:Quantity}, 3 claims:[ResourceClaim]
VolumeResourceRequirements: 1 limits:{s:Quantity}, 2 requests:{s:Quantity}
ResourceClaim: 1 name:s!, 2 request:s
Container: 1 name:s!, 2 image:s, 3 command:[s], 4 args:[s], 5 workingDir:s, 6 ports:[ContainerPort],
  7 env:[EnvVar], 8 resources:ResourceRequirements, 9 volumeMounts:[VolumeMount], 10 livenessProbe:Probe,
  11 readinessProbe:Probe, 12 lifecycle:Lifecycle, 13 terminationMessagePath:s, 14 imagePullPolicy:s,
  15 securityContext:SecurityContext, 16 stdin:B, 17 stdinOnce:B, 18 tty:B, 19 envFrom:[EnvFromSource],
  20 terminationMessagePolicy:s, 21 volumeDevices:[VolumeDevice], 22 startupProbe:Probe,
  23 resizePolicy:[ContainerResizePolicy], 24 restartPolicy:s?, 25 restartPolicyRules:[ContainerRestartRule]
ProbeHandler: 1 exec:ExecAction, 2 httpGet:HTTPGetAction, 3 tcpSocket:TCPSocketAction, 4 grpc:GRPCAction
LifecycleHandler: 1 exec:ExecAction, 2 httpGet:HTTPGetAction, 3 tcpSocket:TCPSocketAction, 4 sleep:SleepAction
Lifecycle: 1 postStart:LifecycleHandler, 2 preStop:LifecycleHandler, 3 stopSignal:s?
ContainerStateWaiting: 1 reason:s, 2 message:s
ContainerStateRunning: 1 startedAt:Time
ContainerStateTerminated: 1 exitCode:i!, 2 signal:i, 3 reason:s, 4 message:s, 5 startedAt:Time, 6 finishedAt:Time,
  7 containerID:s
ContainerState: 1 waiting:ContainerStateWaiting, 2 running:ContainerStateRunning, 3 terminated:ContainerStateTerminated
ContainerStatus: 1 name:s!, 2 state:ContainerState, 3 lastState:ContainerState, 4 ready:B!, 5 restartCount:i!,
  6 image:s!, 7 imageID:s!, 8 containerID:s, 9 started:B?, 10 allocatedResources:{s:Quantity},
  11 resources:ResourceRequirements, 12 volumeMounts:[VolumeMountStatus], 13 user:ContainerUser,
  14 allocatedResourcesStatus:[ResourceStatus], 15 stopSignal:s?
PodCondition: 1 type:s!, 2 status:s!, 3 lastProbeTime:Time, 4 lastTransitionTime:Time, 5 reason:s, 6 message:s,
  7 observedGeneration:i
NodeSelector: 1 nodeSelectorTerms:[NodeSelectorTerm]
NodeSelectorTerm: 1 matchExpressions:[NodeSelectorRequirement], 2 matchFields:[NodeSelectorRequirement]
NodeSelectorRequirement: 1 key:s!, 2 operator:s!, 3 values:[s]
TopologySelectorTerm: 1 matchLabelExpressions:[TopologySelectorLabelRequirement]
TopologySelectorLabelRequirement: 1 key:s!, 2 values:[s]
Affinity: 1 nodeAffinity:NodeAffinity, 2 podAffinity:PodAffinity, 3 podAntiAffinity:PodAntiAffinity
PodAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm],
  2 preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]
PodAntiAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm],
  2 preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]
WeightedPodAffinityTerm: 1 weight:i!, 2 podAffinityTerm:PodAffinityTerm
PodAffinityTerm: 1 labelSelector:LabelSelector, 2 namespaces:[s], 3 topologyKey:s!, 4 namespaceSelector:LabelSelector,
  5 matchLabelKeys:[s], 6 mismatchLabelKeys:[s]
NodeAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution:NodeSelector,
  2 preferredDuringSchedulingIgnoredDuringExecution:[PreferredSchedulingTerm]
PreferredSchedulingTerm: 1 weight:i!, 2 preference:NodeSelectorTerm
Toleration: 1 key:s, 2 operator:s, 3 value:s, 4 effect:s, 5 tolerationSeconds:i?
PodReadinessGate: 1 conditionType:s!
PodSpec: 1 volumes:[Volume], 2 containers:[Container], 3 restartPolicy:s, 4 terminationGracePeriodSeconds:i?,
  5 activeDeadlineSeconds:i?, 6 dnsPolicy:s, 7 nodeSelector:{s:s}, 8 serviceAccountName:s, 9 serviceAccount:s,
  10 nodeName:s, 11 hostNetwork:B, 12 hostPID:B, 13 hostIPC:B, 14 securityContext:PodSecurityContext,
  15 imagePullSecrets:[LocalObjectReference], 16 hostname:s, 17 subdomain:s, 18 affinity:Affinity, 19 schedulerName:s,
  20 initContainers:[Container], 21 automountServiceAccountToken:B?, 22 tolerations:[Toleration],
  23 hostAliases:[HostAlias], 24 priorityClassName:s, 25 priority:i?, 26 dnsConfig:PodDNSConfig,
  27 shareProcessNamespace:B?, 28 readinessGates:[PodReadinessGate], 29 runtimeClassName:s?, 30 enableServiceLinks:B?,
  31 preemptionPolicy:s?, 32 overhead:{s:Quantity}, 33 topologySpreadConstraints:[TopologySpreadConstraint],
  34 ephemeralContainers:[EphemeralContainer], 35 setHostnameAsFQDN:B?, 36 os:PodOS, 37 hostUsers:B?,
  38 schedulingGates:[PodSchedulingGate], 39 resourceClaims:[PodResourceClaim], 40 resources:ResourceRequirements,
  41 hostnameOverride:s?
PodResourceClaim: 1 name:s!, 3 resourceClaimName:s?, 4 resourceClaimTemplateName:s?
PodResourceClaimStatus: 1 name:s!, 2 resourceClaimName:s?
PodOS: 1 name:s!
PodSchedulingGate: 1 name:s!
TopologySpreadConstraint: 1 maxSkew:i!, 2 topologyKey:s!, 3 whenUnsatisfiable:s!, 4 labelSelector:LabelSelector,
  5 minDomains:i?, 6 nodeAffinityPolicy:s?, 7 nodeTaintsPolicy:s?, 8 matchLabelKeys:[s]
HostAlias: 1 ip:s!, 2 hostnames:[s]
PodSecurityContext: 1 seLinuxOptions:SELinuxOptions, 2 runAsUser:i?, 3 runAsNonRoot:B?, 4 supplementalGroups:[i],
  5 fsGroup:i?, 6 runAsGroup:i?, 7 sysctls:[Sysctl], 8 windowsOptions:WindowsSecurityContextOptions,
  9 fsGroupChangePolicy:s?, 10 seccompProfile:SeccompProfile, 11 appArmorProfile:AppArmorProfile,
  12 supplementalGroupsPolicy:s?, 13 seLinuxChangePolicy:s?
SeccompProfile: 1 type:s!, 2 localhostProfile:s?
PodDNSConfig: 1 nameservers:[s], 2 searches:[s], 3 options:[PodDNSConfigOption]
PodDNSConfigOption: 1 name:s, 2 value:s?
PodIP: 1 ip:s!
HostIP: 1 ip:s!
EphemeralContainerCommon: 1 name:s!, 2 image:s, 3 command:[s], 4 args:[s], 5 workingDir:s, 6 ports:[ContainerPort],
  7 env:[EnvVar], 8 resources:ResourceRequirements, 9 volumeMounts:[VolumeMount], 10 livenessProbe:Probe,
  11 readinessProbe:Probe, 12 lifecycle:Lifecycle, 13 terminationMessagePath:s, 14 imagePullPolicy:s,
  15 securityContext:SecurityContext, 16 stdin:B, 17 stdinOnce:B, 18 tty:B, 19 envFrom:[EnvFromSource],
  20 terminationMessagePolicy:s, 21 volumeDevices:[VolumeDevice], 22 startupProbe:Probe,
  23 resizePolicy:[ContainerResizePolicy], 24 restartPolicy:s?, 25 restartPolicyRules:[ContainerRestartRule]
EphemeralContainer: 1 *:EphemeralContainerCommon, 2 targetContainerName:s
PodStatus: 1 phase:s, 2 conditions:[PodCondition], 3 message:s, 4 reason:s, 5 hostIP:s, 6 podIP:s, 7 startTime:Time,
  8 containerStatuses:[ContainerStatus], 9 qosClass:s, 10 initContainerStatuses:[ContainerStatus],
  11 nominatedNodeName:s, 12 podIPs:[PodIP], 13 ephemeralContainerStatuses:[ContainerStatus], 14 resize:s,
  15 resourceClaimStatuses:[PodResourceClaimStatus], 16 hostIPs:[HostIP], 17 observedGeneration:i,
  18 extendedResourceClaimStatus:PodExtendedResourceClaimStatus, 19 allocatedResources:{s:Quantity},
  20 resources:ResourceRequirements
Pod: 1 metadata:ObjectMeta, 2 spec:PodSpec, 3 status:PodStatus
PodTemplateSpec: 1 metadata:ObjectMeta, 2 spec:PodSpec
PodTemplate: 1 metadata:ObjectMeta, 2 template:PodTemplateSpec
ReplicationControllerSpec: 1 replicas:i?, 2 selector:{s:s}, 3 template:PodTemplateSpec, 4 minReadySeconds:i
ReplicationControllerStatus: 1 replicas:i!, 2 fullyLabeledReplicas:i, 3 observedGeneration:i, 4 readyReplicas:i,
  5 availableReplicas:i, 6 conditions:[ReplicationControllerCondition]
ReplicationControllerCondition: 1 type:s!, 2 status:s!, 3 lastTransitionTime:Time, 4 reason:s, 5 message:s
ReplicationController: 1 metadata:ObjectMeta, 2 spec:ReplicationControllerSpec, 3 status:ReplicationControllerStatus
SessionAffinityConfig: 1 clientIP:ClientIPConfig
ClientIPConfig: 1 timeoutSeconds:i?
ServiceStatus: 1 loadBalancer:LoadBalancerStatus, 2 conditions:[Condition]
LoadBalancerStatus: 1 ingress:[LoadBalancerIngress]
LoadBalancerIngress: 1 ip:s, 2 hostname:s, 3 ipMode:s?, 4 ports:[PortStatus]
ServiceSpec: 1 ports:[ServicePort], 2 selector:{s:s}, 3 clusterIP:s, 4 type:s, 5 externalIPs:[s], 7 sessionAffinity:s,
  8 loadBalancerIP:s, 9 loadBalancerSourceRanges:[s], 10 externalName:s, 11 externalTrafficPolicy:s,
  12 healthCheckNodePort:i, 13 publishNotReadyAddresses:B, 14 sessionAffinityConfig:SessionAffinityConfig,
  17 ipFamilyPolicy:s?, 18 clusterIPs:[s], 19 ipFamilies:[s], 20 allocateLoadBalancerNodePorts:B?,
  21 loadBalancerClass:s?, 22 internalTrafficPolicy:s?, 23 trafficDistribution:s?
ServicePort: 1 name:s, 2 protocol:s, 3 port:i!, 4 targetPort:IntOrString, 5 nodePort:i, 6 appProtocol:s?
Service: 1 metadata:ObjectMeta, 2 spec:ServiceSpec, 3 status:ServiceStatus
Endpoints: 1 metadata:ObjectMeta, 2 subsets:[EndpointSubset]
EndpointSubset: 1 addresses:[EndpointAddress], 2 notReadyAddresses:[EndpointAddress], 3 ports:[EndpointPort]
EndpointAddress: 1 ip:s!, 2 targetRef:ObjectReference, 3 hostname:s, 4 nodeName:s?
EndpointPort: 1 name:s, 2 port:i!, 3 protocol:s, 4 appProtocol:s?
Binding: 1 metadata:ObjectMeta, 2 target:ObjectReference
ObjectReference: 1 kind:s, 2 namespace:s, 3 name:s, 4 uid:s, 5 apiVersion:s, 6 resourceVersion:s, 7 fieldPath:s
LocalObjectReference: 1 name:s
TypedLocalObjectReference: 1 apiGroup:s?, 2 kind:s!, 3 name:s!
EventSource: 1 component:s, 2 host:s
Event: 1 metadata:ObjectMeta, 2 involvedObject:ObjectReference, 3 reason:s, 4 message:s, 5 source:EventSource,
  6 firstTimestamp:Time, 7 lastTimestamp:Time, 8 count:i, 9 type:s, 10 eventTime:MicroTime, 11 series:EventSeries,
  12 action:s, 13 related:ObjectReference, 14 reportingComponent:s!, 15 reportingInstance:s!
EventSeries: 1 count:i, 2 lastObservedTime:MicroTime
LimitRangeItem: 1 type:s!, 2 max:{s:Quantity}, 3 min:{s:Quantity}, 4 default:{s:Quantity},
  5 defaultRequest:{s:Quantity}, 6 maxLimitRequestRatio:{s:Quantity}
LimitRangeSpec: 1 limits:[LimitRangeItem]
LimitRange: 1 metadata:ObjectMeta, 2 spec:LimitRangeSpec
ResourceQuotaSpec: 1 hard:{s:Quantity}, 2 scopes:[s], 3 scopeSelector:ScopeSelector
ScopeSelector: 1 matchExpressions:[ScopedResourceSelectorRequirement]
ScopedResourceSelectorRequirement: 1 scopeName:s!, 2 operator:s!, 3 values:[s]
ResourceQuotaStatus: 1 hard:{s:Quantity}, 2 used:{s:Quantity}
ResourceQuota: 1 metadata:ObjectMeta, 2 spec:ResourceQuotaSpec, 3 status:ResourceQuotaStatus
Secret: 1 metadata:ObjectMeta, 2 data:{s:b}, 3 type:s, 4 stringData:{s:s}, 5 immutable:B?
ConfigMap: 1 metadata:ObjectMeta, 2 data:{s:s}, 3 binaryData:{s:b}, 4 immutable:B?
DownwardAPIVolumeSource: 1 items:[DownwardAPIVolumeFile], 2 defaultMode:i?
DownwardAPIVolumeFile: 1 path:s!, 2 fieldRef:ObjectFieldSelector, 3 resourceFieldRef:ResourceFieldSelector, 4 mode:i?
DownwardAPIProjection: 1 items:[DownwardAPIVolumeFile]
SecurityContext: 1 capabilities:Capabilities, 2 privileged:B?, 3 seLinuxOptions:SELinuxOptions, 4 runAsUser:i?,
  5 runAsNonRoot:B?, 6 readOnlyRootFilesystem:B?, 7 allowPrivilegeEscalation:B?, 8 runAsGroup:i?, 9 procMount:s?,
  10 windowsOptions:WindowsSecurityContextOptions, 11 seccompProfile:SeccompProfile, 12 appArmorProfile:AppArmorProfile
SELinuxOptions: 1 user:s, 2 role:s, 3 type:s, 4 level:s
WindowsSecurityContextOptions: 1 gmsaCredentialSpecName:s?, 2 gmsaCredentialSpec:s?, 3 runAsUserName:s?,
  4 hostProcess:B?
Sysctl: 1 name:s!, 2 value:s!
PortStatus: 1 port:i!, 2 protocol:s!, 3 error:s?
ServiceAccount: 1 metadata:ObjectMeta, 2 secrets:[ObjectReference], 3 imagePullSecrets:[LocalObjectReference],
  4 automountServiceAccountToken:B?
Namespace: 1 metadata:ObjectMeta, 2 spec:NamespaceSpec, 3 status:NamespaceStatus
NamespaceSpec: 1 finalizers:[s]
NamespaceStatus: 1 phase:s, 2 conditions:[NamespaceCondition]
NamespaceCondition: 1 type:s!, 2 status:s!, 4 lastTransitionTime:Time, 5 reason:s, 6 message:s
ContainerRestartRule: 1 action:s!, 2 exitCodes:ContainerRestartRuleOnExitCodes
ContainerRestartRuleOnExitCodes: 1 operator:s!, 2 values:[i]
ImageVolumeSource: 1 reference:s, 2 pullPolicy:s
VolumeMountStatus: 1 name:s!, 2 mountPath:s!, 3 readOnly:B, 4 recursiveReadOnly:s?, 5 volumeStatus:VolumeStatus
VolumeStatus: 1 image:ImageVolumeStatus
ImageVolumeStatus: 1 imageRef:s!
ContainerUser: 1 linux:LinuxContainerUser
LinuxContainerUser: 1 uid:i!, 2 gid:i!, 3 supplementalGroups:[i]
ResourceStatus: 1 name:s!, 2 resources:[ResourceHealth]
ResourceHealth: 1 resourceID:s!, 2 health:s, 6 message:s?
AppArmorProfile: 1 type:s!, 2 localhostProfile:s?
PodExtendedResourceClaimStatus: 1 requestMappings:[ContainerExtendedResourceRequest], 2 resourceClaimName:s!
ContainerExtendedResourceRequest: 1 containerName:s!, 2 resourceName:s!, 3 requestName:s!
PodCertificateProjection: 1 signerName:s!, 2 keyType:s!, 3 maxExpirationSeconds:i?, 4 credentialBundlePath:s,
  5 keyPath:s, 6 certificateChainPath:s, 7 userAnnotations:{s:s}
FileKeySelector: 1 volumeName:s!, 2 path:s!, 3 key:s!, 4 optional:B?

[apps io.k8s.api.apps.v1] apps/v1: Deployment ReplicaSet StatefulSet DaemonSet ControllerRevision
StatefulSet: 1 metadata:ObjectMeta, 2 spec:StatefulSetSpec, 3 status:StatefulSetStatus
StatefulSetUpdateStrategy: 1 type:s, 2 rollingUpdate:RollingUpdateStatefulSetStrategy
RollingUpdateStatefulSetStrategy: 1 partition:i?, 2 maxUnavailable:IntOrString
StatefulSetPersistentVolumeClaimRetentionPolicy: 1 whenDeleted:s, 2 whenScaled:s
StatefulSetOrdinals: 1 start:i!
StatefulSetSpec: 1 replicas:i?, 2 selector:LabelSelector, 3 template:PodTemplateSpec,
  4 volumeClaimTemplates:[PersistentVolumeClaim], 5 serviceName:s!, 6 podManagementPolicy:s,
  7 updateStrategy:StatefulSetUpdateStrategy, 8 revisionHistoryLimit:i?, 9 minReadySeconds:i,
  10 persistentVolumeClaimRetentionPolicy:StatefulSetPersistentVolumeClaimRetentionPolicy, 11 ordinals:StatefulSetOrdinals
StatefulSetStatus: 1 observedGeneration:i, 2 replicas:i!, 3 readyReplicas:i, 4 currentReplicas:i, 5 updatedReplicas:i,
  6 currentRevision:s, 7 updateRevision:s, 9 collisionCount:i?, 10 conditions:[StatefulSetCondition],
  11 availableReplicas:i!
StatefulSetCondition: 1 type:s!, 2 status:s!, 3 lastTransitionTime:Time, 4 reason:s, 5 message:s
Deployment: 1 metadata:ObjectMeta, 2 spec:DeploymentSpec, 3 status:DeploymentStatus
DeploymentSpec: 1 replicas:i?, 2 selector:LabelSelector, 3 template:PodTemplateSpec, 4 strategy:DeploymentStrategy,
  5 minReadySeconds:i, 6 revisionHistoryLimit:i?, 7 paused:B, 9 progressDeadlineSeconds:i?
DeploymentStrategy: 1 type:s, 2 rollingUpdate:RollingUpdateDeployment
RollingUpdateDeployment: 1 maxUnavailable:IntOrString, 2 maxSurge:IntOrString
DeploymentStatus: 1 observedGeneration:i, 2 replicas:i, 3 updatedReplicas:i, 4 availableReplicas:i,
  5 unavailableReplicas:i, 6 conditions:[DeploymentCondition], 7 readyReplicas:i, 8 collisionCount:i?,
  9 terminatingReplicas:i?
DeploymentCondition: 1 type:s!, 2 status:s!, 4 reason:s, 5 message:s, 6 lastUpdateTime:Time, 7 lastTransitionTime:Time
DaemonSetUpdateStrategy: 1 type:s, 2 rollingUpdate:RollingUpdateDaemonSet
RollingUpdateDaemonSet: 1 maxUnavailable:IntOrString, 2 maxSurge:IntOrString
DaemonSetSpec: 1 selector:LabelSelector, 2 template:PodTemplateSpec, 3 updateStrategy:DaemonSetUpdateStrategy,
  4 minReadySeconds:i, 6 revisionHistoryLimit:i?
DaemonSetStatus: 1 currentNumberScheduled:i!, 2 numberMisscheduled:i!, 3 desiredNumberScheduled:i!, 4 numberReady:i!,
  5 observedGeneration:i, 6 updatedNumberScheduled:i, 7 numberAvailable:i, 8 numberUnavailable:i, 9 collisionCount:i?,
  10 conditions:[DaemonSetCondition]
DaemonSetCondition: 1 type:s!, 2 status:s!, 3 lastTransitionTime:Time, 4 reason:s, 5 message:s
DaemonSet: 1 metadata:ObjectMeta, 2 spec:DaemonSetSpec, 3 status:DaemonSetStatus
ReplicaSet: 1 metadata:ObjectMeta, 2 spec:ReplicaSetSpec, 3 status:ReplicaSetStatus
ReplicaSetSpec: 1 replicas:i?, 2 selector:LabelSelector, 3 template:PodTemplateSpec, 4 minReadySeconds:i
ReplicaSetStatus: 1 replicas:i!, 2 fullyLabeledReplicas:i, 3 observedGeneration:i, 4 readyReplicas:i,
  5 availableReplicas:i, 6 conditions:[ReplicaSetCondition], 7 terminatingReplicas:i?
ReplicaSetCondition: 1 type:s!, 2 status:s!, 3 lastTransitionTime:Time, 4 reason:s, 5 message:s
ControllerRevision: 1 metadata:ObjectMeta, 2 data:RawExtension, 3 revision:i!

[batch io.k8s.api.batch.v1] batch/v1: Job CronJob
Job: 1 metadata:ObjectMeta, 2 spec:JobSpec, 3 status:JobStatus
PodFailurePolicyOnExitCodesRequirement: 1 containerName:s?, 2 operator:s!, 3 values:[i]
PodFailurePolicyOnPodConditionsPattern: 1 type:s!, 2 status:s!
PodFailurePolicyRule: 1 action:s!, 2 onExitCodes:PodFailurePolicyOnExitCodesRequirement,
  3 onPodConditions:[PodFailurePolicyOnPodConditionsPattern]
PodFailurePolicy: 1 rules:[PodFailurePolicyRule]
SuccessPolicy: 1 rules:[SuccessPolicyRule]
SuccessPolicyRule: 1 succeededIndexes:s?, 2 succeededCount:i?
JobSpec: 1 parallelism:i?, 2 completions:i?, 3 activeDeadlineSeconds:i?, 4 selector:LabelSelector, 5 manualSelector:B?,
  6 template:PodTemplateSpec, 7 backoffLimit:i?, 8 ttlSecondsAfterFinished:i?, 9 completionMode:s?, 10 suspend:B?,
  11 podFailurePolicy:PodFailurePolicy, 12 backoffLimitPerIndex:i?, 13 maxFailedIndexes:i?,
  14 podReplacementPolicy:s?, 15 managedBy:s?, 16 successPolicy:SuccessPolicy
JobStatus: 1 conditions:[JobCondition], 2 startTime:Time, 3 completionTime:Time, 4 active:i, 5 succeeded:i, 6 failed:i,
  7 completedIndexes:s, 8 uncountedTerminatedPods:UncountedTerminatedPods, 9 ready:i?, 10 failedIndexes:s?,
  11 terminating:i?
UncountedTerminatedPods: 1 succeeded:[s], 2 failed:[s]
JobCondition: 1 type:s!, 2 status:s!, 3 lastProbeTime:Time, 4 lastTransitionTime:Time, 5 reason:s, 6 message:s
JobTemplateSpec: 1 metadata:ObjectMeta, 2 spec:JobSpec
CronJob: 1 metadata:ObjectMeta, 2 spec:CronJobSpec, 3 status:CronJobStatus
CronJobSpec: 1 schedule:s!, 2 startingDeadlineSeconds:i?, 3 concurrencyPolicy:s, 4 suspend:B?,
  5 jobTemplate:JobTemplateSpec, 6 successfulJobsHistoryLimit:i?, 7 failedJobsHistoryLimit:i?, 8 timeZone:s?
CronJobStatus: 1 active:[ObjectReference], 4 lastScheduleTime:Time, 5 lastSuccessfulTime:Time

[policy io.k8s.api.policy.v1] policy/v1: PodDisruptionBudget Eviction
PodDisruptionBudgetSpec: 1 minAvailable:IntOrString, 2 selector:LabelSelector, 3 maxUnavailable:IntOrString,
  4 unhealthyPodEvictionPolicy:s?
PodDisruptionBudgetStatus: 1 observedGeneration:i, 2 disruptedPods:{s:Time}, 3 disruptionsAllowed:i!,
  4 currentHealthy:i!, 5 desiredHealthy:i!, 6 expectedPods:i!, 7 conditions:[Condition]
PodDisruptionBudget: 1 metadata:ObjectMeta, 2 spec:PodDisruptionBudgetSpec, 3 status:PodDisruptionBudgetStatus
Eviction: 1 metadata:ObjectMeta, 2 deleteOptions:DeleteOptions

[autoscaling1 io.k8s.api.autoscaling.v1] autoscaling/v1: HorizontalPodAutoscaler Scale
CrossVersionObjectReference: 1 kind:s!, 2 name:s!, 3 apiVersion:s
HorizontalPodAutoscaler: 1 metadata:ObjectMeta, 2 spec:HorizontalPodAutoscalerSpec, 3 status:HorizontalPodAutoscalerStatus
HorizontalPodAutoscalerSpec: 1 scaleTargetRef:CrossVersionObjectReference, 2 minReplicas:i?, 3 maxReplicas:i!,
  4 targetCPUUtilizationPercentage:i?
HorizontalPodAutoscalerStatus: 1 observedGeneration:i?, 2 lastScaleTime:Time, 3 currentReplicas:i!,
  4 desiredReplicas:i!, 5 currentCPUUtilizationPercentage:i?
Scale: 1 metadata:ObjectMeta, 2 spec:ScaleSpec, 3 status:ScaleStatus
ScaleSpec: 1 replicas:i
ScaleStatus: 1 replicas:i!, 2 selector:s

[autoscaling2 io.k8s.api.autoscaling.v2] autoscaling/v2: HorizontalPodAutoscaler
HorizontalPodAutoscaler: 1 metadata:ObjectMeta, 2 spec:HorizontalPodAutoscalerSpec, 3 status:HorizontalPodAutoscalerStatus
HorizontalPodAutoscalerSpec: 1 scaleTargetRef:CrossVersionObjectReference, 2 minReplicas:i?, 3 maxReplicas:i!,
  4 metrics:[MetricSpec], 5 behavior:HorizontalPodAutoscalerBehavior
CrossVersionObjectReference: 1 kind:s!, 2 name:s!, 3 apiVersion:s
MetricSpec: 1 type:s!, 2 object:ObjectMetricSource, 3 pods:PodsMetricSource, 4 resource:ResourceMetricSource,
  5 external:ExternalMetricSource, 7 containerResource:ContainerResourceMetricSource
HorizontalPodAutoscalerBehavior: 1 scaleUp:HPAScalingRules, 2 scaleDown:HPAScalingRules
HPAScalingRules: 1 selectPolicy:s?, 2 policies:[HPAScalingPolicy], 3 stabilizationWindowSeconds:i?, 4 tolerance:Quantity
HPAScalingPolicy: 1 type:s!, 2 value:i!, 3 periodSeconds:i!
ObjectMetricSource: 1 describedObject:CrossVersionObjectReference, 2 target:MetricTarget, 3 metric:MetricIdentifier
PodsMetricSource: 1 metric:MetricIdentifier, 2 target:MetricTarget
ResourceMetricSource: 1 name:s!, 2 target:MetricTarget
ContainerResourceMetricSource: 1 name:s!, 2 target:MetricTarget, 3 container:s!
ExternalMetricSource: 1 metric:MetricIdentifier, 2 target:MetricTarget
MetricIdentifier: 1 name:s!, 2 selector:LabelSelector
MetricTarget: 1 type:s!, 2 value:Quantity, 3 averageValue:Quantity, 4 averageUtilization:i?
HorizontalPodAutoscalerStatus: 1 observedGeneration:i?, 2 lastScaleTime:Time, 3 currentReplicas:i, 4 desiredReplicas:i!,
  5 currentMetrics:[MetricStatus], 6 conditions:[HorizontalPodAutoscalerCondition]
HorizontalPodAutoscalerCondition: 1 type:s!, 2 status:s!, 3 lastTransitionTime:Time, 4 reason:s, 5 message:s
MetricStatus: 1 type:s!, 2 object:ObjectMetricStatus, 3 pods:PodsMetricStatus, 4 resource:ResourceMetricStatus,
  5 external:ExternalMetricStatus, 7 containerResource:ContainerResourceMetricStatus
ObjectMetricStatus: 1 metric:MetricIdentifier, 2 current:MetricValueStatus, 3 describedObject:CrossVersionObjectReference
PodsMetricStatus: 1 metric:MetricIdentifier, 2 current:MetricValueStatus
ResourceMetricStatus: 1 name:s!, 2 current:MetricValueStatus
ContainerResourceMetricStatus: 1 name:s!, 2 current:MetricValueStatus, 3 container:s!
ExternalMetricStatus: 1 metric:MetricIdentifier, 2 current:MetricValueStatus
MetricValueStatus: 1 value:Quantity, 2 averageValue:Quantity, 3 averageUtilization:i?

[networking io.k8s.api.networking.v1] networking.k8s.io/v1: Ingress IngressClass NetworkPolicy IPAddress ServiceCIDR
NetworkPolicy: 1 metadata:ObjectMeta, 2 spec:NetworkPolicySpec
NetworkPolicySpec: 1 podSelector:LabelSelector, 2 ingress:[NetworkPolicyIngressRule], 3 egress:[NetworkPolicyEgressRule],
  4 policyTypes:[s]
NetworkPolicyIngressRule: 1 ports:[NetworkPolicyPort], 2 from:[NetworkPolicyPeer]
NetworkPolicyEgressRule: 1 ports:[NetworkPolicyPort], 2 to:[NetworkPolicyPeer]
NetworkPolicyPort: 1 protocol:s?, 2 port:IntOrString, 3 endPort:i?
IPBlock: 1 cidr:s!, 2 except:[s]
NetworkPolicyPeer: 1 podSelector:LabelSelector, 2 namespaceSelector:LabelSelector, 3 ipBlock:IPBlock
Ingress: 1 metadata:ObjectMeta, 2 spec:IngressSpec, 3 status:IngressStatus
IngressSpec: 1 defaultBackend:IngressBackend, 2 tls:[IngressTLS], 3 rules:[IngressRule], 4 ingressClassName:s?
IngressTLS: 1 hosts:[s], 2 secretName:s
IngressStatus: 1 loadBalancer:IngressLoadBalancerStatus
IngressLoadBalancerStatus: 1 ingress:[IngressLoadBalancerIngress]
IngressLoadBalancerIngress: 1 ip:s, 2 hostname:s, 4 ports:[IngressPortStatus]
IngressPortStatus: 1 port:i!, 2 protocol:s!, 3 error:s?
IngressRule: 1 host:s, 2 *:IngressRuleValue
IngressRuleValue: 1 http:HTTPIngressRuleValue
HTTPIngressRuleValue: 1 paths:[HTTPIngressPath]
HTTPIngressPath: 1 path:s, 2 backend:IngressBackend, 3 pathType:s?
IngressBackend: 3 resource:TypedLocalObjectReference, 4 service:IngressServiceBackend
IngressServiceBackend: 1 name:s!, 2 port:ServiceBackendPort
ServiceBackendPort: 1 name:s, 2 number:i
IngressClass: 1 metadata:ObjectMeta, 2 spec:IngressClassSpec
IngressClassSpec: 1 controller:s, 2 parameters:IngressClassParametersReference
IngressClassParametersReference: 1 apiGroup:s?, 2 kind:s!, 3 name:s!, 4 scope:s?, 5 namespace:s?
IPAddress: 1 metadata:ObjectMeta, 2 spec:IPAddressSpec
IPAddressSpec: 1 parentRef:ParentReference
ParentReference: 1 group:s, 2 resource:s, 3 namespace:s, 4 name:s
ServiceCIDR: 1 metadata:ObjectMeta, 2 spec:ServiceCIDRSpec, 3 status:ServiceCIDRStatus
ServiceCIDRSpec: 1 cidrs:[s]
ServiceCIDRStatus: 1 conditions:[Condition]

[discovery io.k8s.api.discovery.v1] discovery.k8s.io/v1: EndpointSlice
EndpointSlice: 1 metadata:ObjectMeta, 2 endpoints:[Endpoint], 3 ports:[EndpointPort], 4 addressType:s!
Endpoint: 1 addresses:[s], 2 conditions:EndpointConditions, 3 hostname:s?, 4 targetRef:ObjectReference,
  5 deprecatedTopology:{s:s}, 6 nodeName:s?, 7 zone:s?, 8 hints:EndpointHints
EndpointConditions: 1 ready:B?, 2 serving:B?, 3 terminating:B?
EndpointHints: 1 forZones:[ForZone], 2 forNodes:[ForNode]
ForZone: 1 name:s!
ForNode: 1 name:s!
EndpointPort: 1 name:s?, 2 protocol:s?, 3 port:i?, 4 appProtocol:s?

[scheduling io.k8s.api.scheduling.v1] scheduling.k8s.io/v1: PriorityClass
PriorityClass: 1 metadata:ObjectMeta, 2 value:i!, 3 globalDefault:B, 4 description:s, 5 preemptionPolicy:s?

[rbac io.k8s.api.rbac.v1] rbac.authorization.k8s.io/v1: Role RoleBinding ClusterRole ClusterRoleBinding
PolicyRule: 1 verbs:[s], 2 apiGroups:[s], 3 resources:[s], 4 resourceNames:[s], 5 nonResourceURLs:[s]
Subject: 1 kind:s!, 2 apiGroup:s, 3 name:s!, 4 namespace:s
RoleRef: 1 apiGroup:s!, 2 kind:s!, 3 name:s!
Role: 1 metadata:ObjectMeta, 2 rules:[PolicyRule]
RoleBinding: 1 metadata:ObjectMeta, 2 subjects:[Subject], 3 roleRef:RoleRef
ClusterRole: 1 metadata:ObjectMeta, 2 rules:[PolicyRule], 3 aggregationRule:AggregationRule
AggregationRule: 1 clusterRoleSelectors:[LabelSelector]
ClusterRoleBinding: 1 metadata:ObjectMeta, 2 subjects:[Subject], 3 roleRef:RoleRef

[authorization io.k8s.api.authorization.v1] authorization.k8s.io/v1: SubjectAccessReview SelfSubjectAccessReview
  LocalSubjectAccessReview SelfSubjectRulesReview
SubjectAccessReview: 1 metadata:ObjectMeta, 2 spec:SubjectAccessReviewSpec, 3 status:SubjectAccessReviewStatus
SelfSubjectAccessReview: 1 metadata:ObjectMeta, 2 spec:SelfSubjectAccessReviewSpec, 3 status:SubjectAccessReviewStatus
LocalSubjectAccessReview: 1 metadata:ObjectMeta, 2 spec:SubjectAccessReviewSpec, 3 status:SubjectAccessReviewStatus
ResourceAttributes: 1 namespace:s, 2 verb:s, 3 group:s, 4 version:s, 5 resource:s, 6 subresource:s, 7 name:s,
  8 fieldSelector:FieldSelectorAttributes, 9 labelSelector:LabelSelectorAttributes
LabelSelectorAttributes: 1 rawSelector:s, 2 requirements:[LabelSelectorRequirement]
FieldSelectorAttributes: 1 rawSelector:s, 2 requirements:[meta.FieldSelectorRequirement]
NonResourceAttributes: 1 path:s, 2 verb:s
SubjectAccessReviewSpec: 1 resourceAttributes:ResourceAttributes, 2 nonResourceAttributes:NonResourceAttributes,
  3 user:s, 4 groups:[s], 5 extra:{s:ExtraValue}, 6 uid:s
SelfSubjectAccessReviewSpec: 1 resourceAttributes:ResourceAttributes, 2 nonResourceAttributes:NonResourceAttributes
SubjectAccessReviewStatus: 1 allowed:B!, 2 reason:s, 3 evaluationError:s, 4 denied:B
SelfSubjectRulesReview: 1 metadata:ObjectMeta, 2 spec:SelfSubjectRulesReviewSpec, 3 status:SubjectRulesReviewStatus
SelfSubjectRulesReviewSpec: 1 namespace:s
SubjectRulesReviewStatus: 1 resourceRules:[ResourceRule], 2 nonResourceRules:[NonResourceRule], 3 incomplete:B!,
  4 evaluationError:s
ResourceRule: 1 verbs:[s], 2 apiGroups:[s], 3 resources:[s], 4 resourceNames:[s]
NonResourceRule: 1 verbs:[s], 2 nonResourceURLs:[s]

[authentication io.k8s.api.authentication.v1] authentication.k8s.io/v1: TokenRequest TokenReview SelfSubjectReview
TokenRequest: 1 metadata:ObjectMeta, 2 spec:TokenRequestSpec, 3 status:TokenRequestStatus
TokenRequestSpec: 1 audiences:[s], 3 boundObjectRef:BoundObjectReference, 4 expirationSeconds:i?
BoundObjectReference: 1 kind:s, 2 apiVersion:s, 3 name:s, 4 uid:s
TokenRequestStatus: 1 token:s!, 2 expirationTimestamp:Time
TokenReview: 1 metadata:ObjectMeta, 2 spec:TokenReviewSpec, 3 status:TokenReviewStatus
TokenReviewSpec: 1 token:s, 2 audiences:[s]
TokenReviewStatus: 1 authenticated:B, 2 user:UserInfo, 3 error:s, 4 audiences:[s]
UserInfo: 1 username:s, 2 uid:s, 3 groups:[s], 4 extra:{s:ExtraValue}
SelfSubjectReview: 1 metadata:ObjectMeta, 2 status:SelfSubjectReviewStatus
SelfSubjectReviewStatus: 1 userInfo:UserInfo
"""
